// The server plugin executable, driven directly over go-plugin gRPC as SPIRE would: malformed streams are
// InvalidArgument with a message saying what was wrong; nothing before Configure.
import { status } from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { AttestationPayloadSchema } from '../../proto/gen/tpmquote/v1/attestation_pb';
import { Init } from '../../proto/gen/spire/service/private/init/v1/init_pb';
import { SERVER_EXE, startSession, validPluginData, type Session } from './go-plugin-host';
import { attestRaw, startServer } from './attest-pipe';

describe('server plugin: malformed attestation streams', () => {
  let server: Session;
  beforeAll(async () => {
    server = await startServer(validPluginData(SERVER_EXE));
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test.each([
    [
      'a payload that is not our protobuf',
      [{ request: { case: 'payload' as const, value: new Uint8Array([0xff, 0xff, 0xff]) } }],
      /^malformed payload: not a tpmquote.v1 AttestationPayload: /,
    ],
    [
      'a version 2 payload',
      [
        {
          request: {
            case: 'payload' as const,
            value: toBinary(AttestationPayloadSchema, create(AttestationPayloadSchema, { version: 2 })),
          },
        },
      ],
      /^malformed payload: version 2 is not supported/,
    ],
    [
      'a challenge_response first',
      [{ request: { case: 'challengeResponse' as const, value: new Uint8Array([1]) } }],
      /^expected a payload, got a challenge_response$/,
    ],
    ['an empty stream', [], /^the stream ended before the payload$/],
  ])('%s -> InvalidArgument', async (_name, requests, message) => {
    const out = await attestRaw(server, requests);
    expect(out.challenges).toEqual([]);
    expect(out.attributes).toBeUndefined();
    expect(out.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(out.error?.details).toMatch(message);
  });

  test('before Configure -> FailedPrecondition', async () => {
    const s = await startSession(SERVER_EXE);
    try {
      await s.client(Init).init({ hostServiceNames: [] });
      const out = await attestRaw(s, [{ request: { case: 'payload', value: new Uint8Array([1]) } }]);
      expect(out.error?.code).toBe(status.FAILED_PRECONDITION);
      expect(out.error?.details).toBe('not configured');
    } finally {
      await s.dispose();
    }
  });
});
