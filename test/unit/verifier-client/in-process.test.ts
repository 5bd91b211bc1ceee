// The in-process verifier with golden swtpm evidence (test/fixtures/tpm): policy verdicts and refusals.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseTpmPolicy } from '../../../verifier-client/policy';
import { VerifierError } from '../../../verifier-client/errors';
import { createInProcessVerifier } from '../../../verifier-client/in-process';
import { parsePcrBlob, pcrBlobToValues } from '../../../tpm/keylime/pcr-blob';
import type { QuoteEvidence } from '../../../verifier-client/types';

const FX = resolve(__dirname, '../../fixtures/tpm');
const fx = (n: string) => new Uint8Array(readFileSync(join(FX, n)));
const values = pcrBlobToValues(parsePcrBlob(fx('quote-rsa.pcrs')));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function evidence(overrides: Partial<QuoteEvidence> = {}): QuoteEvidence {
  return {
    attest: fx('quote-rsa.attest'),
    signature: fx('quote-rsa.sig'),
    pcrBlob: fx('quote-rsa.pcrs'),
    nonce: new Uint8Array(Buffer.from(readFileSync(join(FX, 'nonce.hex'), 'utf8').trim(), 'hex')),
    hashAlg: 'sha256',
    akPublic: fx('ak-rsa.pub'),
    ekPublic: fx('ek-rsa.pub'),
    ...overrides,
  };
}

async function rejection(p: Promise<unknown>): Promise<VerifierError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof VerifierError) return err;
    throw err;
  }
  throw new Error('expected a VerifierError');
}

describe('in-process verifier', () => {
  const v = createInProcessVerifier();

  test('a policy the quoted values meet passes', async () => {
    const policy = parseTpmPolicy(
      JSON.stringify({ 0: [hex(values.sha256![0])], 16: ['00'.repeat(32), hex(values.sha256![16])] }),
    );
    await expect(v.verify(evidence(), policy)).resolves.toMatchObject({ verifier: 'in_process' });
  });

  test('a PCR value outside the policy -> permission_denied, typed as Keylime types it', async () => {
    const policy = parseTpmPolicy(JSON.stringify({ 1: ['ee'.repeat(32)] }));
    const e = await rejection(v.verify(evidence(), policy));
    expect(e.code).toBe('permission_denied');
    expect(e.message).toBe(
      `PCR policy: PCR sha256:1 is ${hex(values.sha256![1])}, the policy allows ${'ee'.repeat(32)}`,
    );
    expect(e.failures.map((f) => f.type)).toEqual(['pcr_validation.invalid_pcr_1']);
  });

  test('a policy PCR that is not quoted -> permission_denied (missing)', async () => {
    const policy = parseTpmPolicy(JSON.stringify({ 7: ['00'.repeat(32)] }));
    const e = await rejection(v.verify(evidence(), policy));
    expect(e.code).toBe('permission_denied');
    expect(e.message).toBe('PCR policy: PCR sha256:7 is in the policy but not quoted');
    expect(e.failures.map((f) => f.type)).toEqual(['pcr_validation.missing_pcrs']);
  });

  test('a signature that does not verify -> permission_denied (unlike Keylime, never accepted)', async () => {
    const sig = new Uint8Array(fx('quote-rsa.sig'));
    sig[20] ^= 0xff;
    const policy = parseTpmPolicy(JSON.stringify({ 0: [hex(values.sha256![0])] }));
    const e = await rejection(v.verify(evidence({ signature: sig }), policy));
    expect(e.code).toBe('permission_denied');
    expect(e.failures.map((f) => f.type)).toEqual(['quote_validation.signature_invalid']);
  });

  test('a pcrblob that does not decode -> invalid_argument', async () => {
    const policy = parseTpmPolicy(JSON.stringify({ 0: [hex(values.sha256![0])] }));
    const e = await rejection(v.verify(evidence({ pcrBlob: new Uint8Array(10) }), policy));
    expect(e.code).toBe('invalid_argument');
  });

  test('a policy for a bank the quote does not cover -> permission_denied', async () => {
    const policy = parseTpmPolicy(JSON.stringify({ 0: ['00'.repeat(48)] }));
    const e = await rejection(v.verify(evidence(), policy));
    expect(e.code).toBe('permission_denied');
    expect(e.message).toBe('PCR policy: the quote has no sha384 PCR');
  });

  test('a cancelled verification rejects', async () => {
    const ac = new AbortController();
    ac.abort();
    const policy = parseTpmPolicy(JSON.stringify({ 0: [hex(values.sha256![0])] }));
    expect((await rejection(v.verify(evidence(), policy, { signal: ac.signal }))).code).toBe('unavailable');
  });
});
