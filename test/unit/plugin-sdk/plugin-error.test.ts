import { status } from '@grpc/grpc-js';
import { PluginError, toGrpcStatus } from '../../../plugin-sdk/plugin-error';

describe('toGrpcStatus', () => {
  test.each([
    [PluginError.invalidArgument('payload: truncated'), status.INVALID_ARGUMENT, 'payload: truncated'],
    [PluginError.permissionDenied('quote: bad signature'), status.PERMISSION_DENIED, 'quote: bad signature'],
    [PluginError.failedPrecondition('not configured'), status.FAILED_PRECONDITION, 'not configured'],
    [PluginError.unavailable('tpm: connection refused'), status.UNAVAILABLE, 'tpm: connection refused'],
    [PluginError.unimplemented('later'), status.UNIMPLEMENTED, 'later'],
    [PluginError.internal('oops'), status.INTERNAL, 'oops'],
    [new PluginError(status.NOT_FOUND, 'two\nlines'), status.NOT_FOUND, 'two'],
    [new Error('plain bug\n    at foo (x.ts:1:1)'), status.INTERNAL, 'internal error: plain bug'],
    [new TypeError(''), status.INTERNAL, 'internal error: unknown'],
    ['a string', status.INTERNAL, 'internal error: a string'],
    [undefined, status.INTERNAL, 'internal error: undefined'],
  ])('%p -> code %s, %j', (err, code, details) => {
    const s = toGrpcStatus(err);
    expect(s.code).toBe(code);
    expect(s.details).toBe(details);
    expect(s.details).not.toMatch(/\n|\bat .*:\d+:\d+/);
  });

  test('PluginError keeps its cause', () => {
    const cause = new Error('ECONNREFUSED');
    const e = PluginError.unavailable('verifier unreachable', cause);
    expect(e.cause).toBe(cause);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('PluginError');
  });
});
