// How TPM failures become the gRPC errors SPIRE shows for the agent plugin.
import { Code, PluginError } from '../../../plugin-sdk';
import { tpmFailure } from '../../../plugin-agent/aid-attestation';
import { TpmError, TpmUnavailableError, TPM_RC_OBJECT_MEMORY } from '../../../tpm/errors';

describe('agent TPM failures', () => {
  test('unreachable TPM -> Unavailable naming the step and the transport', () => {
    const e = tpmFailure(
      'swtpm:host=127.0.0.1,port=2321',
      'reading TPM properties',
      new TpmUnavailableError('swtpm:host=127.0.0.1,port=2321', 'cannot connect: ECONNREFUSED'),
    );
    expect(e.code).toBe(Code.UNAVAILABLE);
    expect(e.message).toBe(
      'reading TPM properties: TPM swtpm:host=127.0.0.1,port=2321 unavailable: cannot connect: ECONNREFUSED',
    );
  });

  test('a TPM error code -> FailedPrecondition naming the command and the response code', () => {
    const e = tpmFailure('device:/dev/tpmrm0', 'quoting PCRs', new TpmError(TPM_RC_OBJECT_MEMORY, 'TPM2_Load'));
    expect(e.code).toBe(Code.FAILED_PRECONDITION);
    expect(e.message).toMatch(
      /^quoting PCRs: TPM device:\/dev\/tpmrm0 refused TPM2_Load: TPM_RC_OBJECT_MEMORY \(0x902\)/,
    );
  });

  test('a PluginError passes through; anything else is Internal', () => {
    const p = PluginError.invalidArgument('x');
    expect(tpmFailure('t', 's', p)).toBe(p);
    expect(tpmFailure('t', 'loading the AK', new Error('boom'))).toMatchObject({
      code: Code.INTERNAL,
      message: 'loading the AK: boom',
    });
  });
});
