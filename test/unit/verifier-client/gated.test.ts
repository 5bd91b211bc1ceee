// The Keylime-mode verifier's composition (verifier-client/gated.ts) with a recording stand-in for the gate, on
// the golden swtpm quote test/fixtures/tpm/quote-rsapss.* (sha256:16, RSAPSS/SHA-256 AK). The stand-in is not
// a fake Keylime: it only records what the gate would be sent and answers as told. Against the real Keylime
// verifier the same function runs in test/swtpm/differential.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  VerifierError,
  createGatedVerifier,
  parseTpmPolicy,
  verifyForGate,
  type QuoteEvidence,
  type TpmPolicy,
  type Verifier,
  type VerifierVerdict,
} from '../../../verifier-client';
import { parsePcrBlob, pcrBlobToValues } from '../../../tpm/keylime/pcr-blob';
import { rejected } from '../../helpers/thrown';

const FIX = join(__dirname, '..', '..', 'fixtures', 'tpm');
const f = (n: string) => new Uint8Array(readFileSync(join(FIX, n)));
const evidence: QuoteEvidence = {
  attest: f('quote-rsapss.attest'),
  signature: f('quote-rsapss.sig'),
  pcrBlob: f('quote-rsapss.pcrs'),
  nonce: Buffer.from(readFileSync(join(FIX, 'nonce.hex'), 'utf8').trim(), 'hex'),
  hashAlg: 'sha256',
  akPublic: f('ak-rsapss.pub'),
  ekPublic: f('ek-rsa.pub'),
};
const pcr16 = Buffer.from(pcrBlobToValues(parsePcrBlob(evidence.pcrBlob)).sha256![16]).toString('hex');
const policy: TpmPolicy = parseTpmPolicy(JSON.stringify({ 16: [pcr16] }));

function recordingGate(answer: () => Promise<VerifierVerdict>): Verifier & { sent: QuoteEvidence[]; closed: boolean } {
  const g = {
    sent: [] as QuoteEvidence[],
    closed: false,
    verify: async (e: QuoteEvidence) => {
      g.sent.push(e);
      return answer();
    },
    close: () => {
      g.closed = true;
    },
  };
  return g;
}
const pass = async (): Promise<VerifierVerdict> => ({ verifier: 'gate', claims: { ok: 1 } });

const refusal = (p: Promise<unknown>): Promise<VerifierError> => rejected(VerifierError, p);

describe('createGatedVerifier', () => {
  test('valid evidence: our checks pass, the gate is asked once, its verdict is returned', async () => {
    const gate = recordingGate(pass);
    const v = createGatedVerifier(gate);
    await expect(v.verify(evidence, policy)).resolves.toEqual({
      verifier: 'in_process quote checks + gate',
      claims: { ok: 1 },
    });
    expect(gate.sent).toHaveLength(1);
    // the gate gets the blob re-encoded from the signed selection (identical here: tpm2-tools wrote it the same way)
    expect(Buffer.from(gate.sent[0].pcrBlob).equals(Buffer.from(evidence.pcrBlob))).toBe(true);
    v.close();
    expect(gate.closed).toBe(true);
  });

  test('the gate sees the canonical blob even when padding bytes of the sent one differ', async () => {
    const gate = recordingGate(pass);
    const padded = Uint8Array.from(evidence.pcrBlob);
    padded[padded.length - 1] ^= 0xff; // an unused digest slot
    await createGatedVerifier(gate).verify({ ...evidence, pcrBlob: padded }, policy);
    expect(Buffer.from(gate.sent[0].pcrBlob).equals(Buffer.from(evidence.pcrBlob))).toBe(true);
  });

  test.each([
    [
      'bad signature',
      {
        signature: (() => {
          const s = Uint8Array.from(evidence.signature);
          s[s.length - 1] ^= 1;
          return s;
        })(),
      },
      'permission_denied',
      'quote_validation.signature_invalid',
    ],
    [
      'wrong nonce',
      { nonce: new Uint8Array(evidence.nonce.length) },
      'permission_denied',
      'quote_validation.nonce_mismatch',
    ],
    [
      'hash_alg not the signature hash',
      { hashAlg: 'sha384' as const },
      'permission_denied',
      'quote_validation.hash_alg',
    ],
    [
      'undecodable pcrblob',
      { pcrBlob: new Uint8Array(10) },
      'invalid_argument',
      'quote_validation.keylime_quote_malformed',
    ],
    [
      'truncated attest',
      { attest: evidence.attest.slice(0, -1) },
      'invalid_argument',
      'quote_validation.attest_malformed',
    ],
  ])('%s: refused by our checks, the gate is never asked', async (_n, change, code, type) => {
    const gate = recordingGate(pass);
    const e = await refusal(createGatedVerifier(gate).verify({ ...evidence, ...change }, policy));
    expect({ code: e.code, types: e.failures.map((x) => x.type), url: e.url }).toEqual({
      code,
      types: [type],
      url: undefined,
    });
    expect(e.message).toMatch(/^quote: /);
    expect(gate.sent).toHaveLength(0);
  });

  test('a policy for another bank is refused before the gate (invalid_argument)', async () => {
    const gate = recordingGate(pass);
    const e = await refusal(
      createGatedVerifier(gate).verify(evidence, parseTpmPolicy(JSON.stringify({ 16: ['00'.repeat(20)] }))),
    );
    expect(e.code).toBe('invalid_argument');
    expect(e.failures.map((x) => x.type)).toEqual(['quote_validation.policy_bank']);
    expect(gate.sent).toHaveLength(0);
  });

  test.each(['permission_denied', 'invalid_argument', 'unavailable'] as const)(
    'the gate refusing (%s) is passed on unchanged: never accepts on error',
    async (code) => {
      const err = new VerifierError(code, `gate says ${code}`, {
        url: 'https://kl/v2.6/verify/evidence',
        failures: [{ type: 'x', context: {} }],
      });
      const gate = recordingGate(() => Promise.reject(err));
      await expect(createGatedVerifier(gate).verify(evidence, policy)).rejects.toBe(err);
      expect(gate.sent).toHaveLength(1);
    },
  );

  test('a cancelled verification is refused without asking the gate', async () => {
    const gate = recordingGate(pass);
    const ac = new AbortController();
    ac.abort();
    const e = await refusal(createGatedVerifier(gate).verify(evidence, policy, { signal: ac.signal }));
    expect(e.code).toBe('unavailable');
    expect(gate.sent).toHaveLength(0);
  });

  test('verifyForGate returns the verified quote with the signed selection', () => {
    const { quote } = verifyForGate(evidence, policy);
    expect(quote.hash).toBe('sha256');
    expect(quote.pcrSelection.length).toBe(1);
  });
});
