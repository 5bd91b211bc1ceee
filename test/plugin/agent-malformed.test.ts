// The agent plugin executable, driven directly over go-plugin gRPC as spire-agent would, against a real
// swtpm: a challenge that is not a well-formed tpm_quote v1 challenge fails the stream with InvalidArgument
// naming the field, before the TPM is asked to activate anything, and leaves no transient object behind.
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { AttestationChallengeSchema } from '../../proto/gen/tpmquote/v1/attestation_pb';
import {
  NodeAttestor as AgentNodeAttestor,
  type ChallengeSchema,
} from '../../proto/gen/spire/plugin/agent/nodeattestor/v1/nodeattestor_pb';
import { startSwtpm, type Swtpm } from '../helpers/swtpm';
import type { Session } from './go-plugin-host';
import { queue, startAgent, tpm2 } from './attest-pipe';

const tpm2b = (n: number) => {
  const b = new Uint8Array(2 + n);
  b[0] = n >> 8;
  b[1] = n & 0xff;
  return b;
};

const good = {
  version: 1,
  nonce: new Uint8Array(32).fill(1),
  credentialBlob: tpm2b(50),
  encryptedSecret: tpm2b(256),
  pcrSelection: [{ bank: 'sha256', pcrs: [0, 1, 2] }],
};
const challenge = (overrides: Partial<typeof good>) =>
  toBinary(AttestationChallengeSchema, create(AttestationChallengeSchema, { ...good, ...overrides }));

/** Reads the agent's payload, sends one challenge, and returns how the stream ended. */
async function answer(
  agent: Session,
  bytes: Uint8Array,
): Promise<{ payload: boolean; responses: number; error?: { code: number; details: string } }> {
  const toAgent = queue<MessageInitShape<typeof ChallengeSchema>>();
  const out: { payload: boolean; responses: number; error?: { code: number; details: string } } = {
    payload: false,
    responses: 0,
  };
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 30_000);
  try {
    for await (const m of agent.client(AgentNodeAttestor).aidAttestation(toAgent.iterable, { signal: abort.signal })) {
      if (m.data.case === 'payload') {
        out.payload = true;
        toAgent.push({ challenge: bytes });
      } else if (m.data.case === 'challengeResponse') {
        out.responses++;
        abort.abort();
      }
    }
  } catch (err) {
    if (!abort.signal.aborted)
      out.error = {
        code: (err as { code: number }).code,
        details: String((err as { details?: string }).details ?? err),
      };
  } finally {
    clearTimeout(timer);
    toAgent.close();
  }
  return out;
}

describe('agent plugin: malformed challenges', () => {
  let swtpm: Swtpm;
  let dir: string;
  let agent: Session;

  beforeAll(async () => {
    swtpm = startSwtpm();
    dir = mkdtempSync(join(tmpdir(), 'tpmq-agent-malformed-'));
    agent = await startAgent(
      `tpm = "${swtpm.transportSpec}"\nek_algorithm = "rsa"\nak_data_dir = "${join(dir, 'ak')}"\n`,
    );
  });
  afterAll(async () => {
    await agent?.dispose();
    swtpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ['empty', new Uint8Array(), 'challenge: empty'],
    ['oversized', () => new Uint8Array(16 * 1024 + 1), 'challenge: 16385 bytes exceeds the maximum 16384'],
    ['not protobuf', new Uint8Array([0xff, 0xff, 0xff]), /^challenge: not a tpmquote.v1 AttestationChallenge: /],
    [
      'version 2',
      () => challenge({ version: 2 }),
      'challenge: version 2 is not supported (this plugin speaks version 1)',
    ],
    ['no nonce', () => challenge({ nonce: new Uint8Array() }), 'challenge.nonce: 0 bytes (1-64 expected)'],
    ['a 65-byte nonce', () => challenge({ nonce: new Uint8Array(65) }), 'challenge.nonce: 65 bytes (1-64 expected)'],
    ['no PCR selection', () => challenge({ pcrSelection: [] }), 'challenge.pcr_selection: empty'],
    [
      'an unknown bank',
      () => challenge({ pcrSelection: [{ bank: 'md5', pcrs: [0] }] }),
      'challenge.pcr_selection: unknown bank "md5"',
    ],
    [
      'PCR 24',
      () => challenge({ pcrSelection: [{ bank: 'sha256', pcrs: [0, 24] }] }),
      'challenge.pcr_selection: sha256 needs PCR indices 0-23',
    ],
    [
      'a bank twice',
      () =>
        challenge({
          pcrSelection: [
            { bank: 'sha256', pcrs: [0] },
            { bank: 'sha256', pcrs: [1] },
          ],
        }),
      'challenge.pcr_selection: bank sha256 appears twice',
    ],
    [
      'a repeated PCR',
      () => challenge({ pcrSelection: [{ bank: 'sha256', pcrs: [0, 1, 1] }] }),
      'challenge.pcr_selection: sha256 PCR indices 0,1,1 are not ascending without repeats',
    ],
    [
      'descending PCRs',
      () => challenge({ pcrSelection: [{ bank: 'sha256', pcrs: [2, 1] }] }),
      'challenge.pcr_selection: sha256 PCR indices 2,1 are not ascending without repeats',
    ],
    [
      'a credential_blob without its TPM2B size',
      () => challenge({ credentialBlob: new Uint8Array([1]) }),
      'challenge.credential_blob: 1 bytes is not a TPM2B',
    ],
    [
      'an encrypted_secret whose TPM2B size lies',
      () => challenge({ encryptedSecret: new Uint8Array([0x01, 0x00, 1, 2, 3]) }),
      'challenge.encrypted_secret: TPM2B size 256 does not match its 3 bytes',
    ],
  ])('%s -> InvalidArgument naming the field', async (_name, make, message) => {
    const out = await answer(agent, typeof make === 'function' ? make() : make);
    expect(out.payload).toBe(true);
    expect(out.responses).toBe(0);
    expect(out.error?.code).toBe(status.INVALID_ARGUMENT);
    if (typeof message === 'string') expect(out.error?.details).toBe(message);
    else expect(out.error?.details).toMatch(message);
  });

  test('no transient object is left in the TPM after the refused challenges', () => {
    expect(
      tpm2(swtpm, ['tpm2_getcap', 'handles-transient'])
        .split('\n')
        .filter((l) => /0x8/.test(l)),
    ).toEqual([]);
  });
});
