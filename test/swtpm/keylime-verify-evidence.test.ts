// The Keylime verifier client against a REAL keylime_verifier 7.14.3, with real quotes made by tpm2-tools on a
// swtpm. Needs scripts/install-keylime.sh and scripts/install-tpm-tools.sh to have run.
import { rejected } from '../helpers/thrown';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  VerifierError,
  createKeylimeVerifier,
  createKeylimeVerifierFromFiles,
  keylimeEvidenceBody,
  parseTpmPolicy,
  type KeylimeVerifier,
  type QuoteEvidence,
  type TpmPolicy,
} from '../../verifier-client';
import { startSwtpm, type Swtpm } from '../helpers/swtpm';
import {
  createToolsAk,
  rawPost,
  startKeylimeVerifier,
  toolsPcrExtend,
  toolsPcrRead,
  toolsQuote,
  type KeylimeVerifierProcess,
  type ToolsAk,
} from '../helpers/keylime';

// jest.config.js's per-project testTimeout is not applied (testTimeout is a global Jest option), so set it here:
// starting and stopping the verifier takes seconds.
jest.setTimeout(60_000);

const QUOTED = [0, 1, 2, 3, 4, 5, 6, 7];

function policyFrom(values: Map<number, string>, override: Record<number, string[]> = {}): TpmPolicy {
  const doc: Record<string, string[]> = {};
  for (const [pcr, v] of values) doc[String(pcr)] = [v];
  for (const [pcr, v] of Object.entries(override)) doc[pcr] = v;
  return parseTpmPolicy(JSON.stringify(doc));
}

const refusal = (p: Promise<unknown>): Promise<VerifierError> => rejected(VerifierError, p);

describe('Keylime verifier client against a real keylime_verifier', () => {
  let swtpm: Swtpm;
  let ak: ToolsAk;
  let kl: KeylimeVerifierProcess;
  let client: KeylimeVerifier;
  let pcrValues: Map<number, string>;
  let evidence: QuoteEvidence;
  let nonce: Uint8Array;

  beforeAll(() => {
    swtpm = startSwtpm();
    kl = startKeylimeVerifier();
    ak = createToolsAk(swtpm);
    // Give PCRs 1 and 7 values other than the reset value so the policy means something.
    toolsPcrExtend(swtpm, 1, 'sha256', 'aa'.repeat(32));
    toolsPcrExtend(swtpm, 7, 'sha256', 'bb'.repeat(32));
    pcrValues = toolsPcrRead(swtpm, 'sha256', QUOTED);
    nonce = randomBytes(20);
    evidence = toolsQuote(swtpm, ak, { nonce });
    client = createKeylimeVerifierFromFiles({
      url: kl.url,
      caPath: kl.caPath,
      clientCertPath: kl.clientCertPath,
      clientKeyPath: kl.clientKeyPath,
      timeoutMs: 15_000,
    });
  });

  afterAll(() => {
    client?.close();
    kl?.stop();
    swtpm?.stop();
  });

  test('tpm2-tools output has the shapes the client sends (TPM2B_PUBLIC, 668-byte sha256 pcrblob)', () => {
    for (const pub of [evidence.akPublic, evidence.ekPublic]) {
      expect(Buffer.from(pub).readUInt16BE(0)).toBe(pub.length - 2);
    }
    // u32 + 16 x 8-byte TPMS_PCR_SELECTION, u32 digest-list count, one TPML_DIGEST of 4 + 8 x 66 bytes.
    expect(evidence.pcrBlob.length).toBe(4 + 16 * 8 + 4 + (4 + 8 * 66));
    expect(pcrValues.get(1)).not.toBe('00'.repeat(32));
  });

  test('discovers the API version with GET /version', async () => {
    expect(await client.apiVersion()).toBe(kl.apiVersion);
    expect(await client.endpoint()).toBe(`${kl.url}/v${kl.apiVersion}/verify/evidence`);
  });

  test('valid evidence + matching policy -> valid', async () => {
    const verdict = await client.verify(evidence, policyFrom(pcrValues));
    expect(verdict.verifier).toBe(`keylime ${kl.url}`);
    expect(kl.log()).toMatch(/Checking one-shot attestation data/);
  });

  test('a fresh quote over another nonce also passes (keep-alive connection reused)', async () => {
    const n = randomBytes(32);
    const e = toolsQuote(swtpm, ak, { nonce: n });
    await expect(client.verify(e, policyFrom(pcrValues))).resolves.toMatchObject({ verifier: `keylime ${kl.url}` });
  });

  test('configured apiVersion 2.0 is used as given', async () => {
    const c = createKeylimeVerifier({ url: kl.url, caPem: readFileSync(kl.caPath), apiVersion: '2.0' });
    try {
      expect(await c.endpoint()).toBe(`${kl.url}/v2.0/verify/evidence`);
      await expect(c.verify(evidence, policyFrom(pcrValues))).resolves.toBeDefined();
    } finally {
      c.close();
    }
  });

  test('works without a client certificate (Keylime does not require one on this endpoint)', async () => {
    const c = createKeylimeVerifier({ url: kl.url, caPem: readFileSync(kl.caPath) });
    try {
      await expect(c.verify(evidence, policyFrom(pcrValues))).resolves.toBeDefined();
    } finally {
      c.close();
    }
  });

  test('PCR value not in the policy -> permission_denied listing pcr_validation.invalid_pcr_<n>', async () => {
    const e = await refusal(
      client.verify(evidence, policyFrom(pcrValues, { 1: ['cd'.repeat(32)], 7: ['ef'.repeat(32)] })),
    );
    expect(e.code).toBe('permission_denied');
    expect(e.httpStatus).toBe(200);
    expect(e.failures.map((f) => f.type).sort()).toEqual([
      'pcr_validation.invalid_pcr_1',
      'pcr_validation.invalid_pcr_7',
    ]);
    expect(e.message).toContain(`${kl.url}/v${kl.apiVersion}/verify/evidence refused the evidence`);
    expect(e.message).toContain('pcr_validation.invalid_pcr_1: PCR value is not in allowlist');
    expect(e.message).toContain(pcrValues.get(1));
  });

  test('policy PCR missing from the quote -> permission_denied pcr_validation.missing_pcrs', async () => {
    const e = await refusal(client.verify(evidence, policyFrom(pcrValues, { 8: ['00'.repeat(32)] })));
    expect(e.code).toBe('permission_denied');
    expect(e.failures.map((f) => f.type)).toEqual(['pcr_validation.missing_pcrs']);
    expect(e.failures[0].context).toMatchObject({ data: [8] });
  });

  test('wrong nonce -> permission_denied qoute_validation.quote_validation (upstream spelling)', async () => {
    const e = await refusal(client.verify({ ...evidence, nonce: randomBytes(20) }, policyFrom(pcrValues)));
    expect(e.code).toBe('permission_denied');
    expect(e.failures.map((f) => f.type)).toEqual(['qoute_validation.quote_validation']);
    expect(e.message).toContain(
      'qoute_validation.quote_validation: Quote data validation: The nonce from the attestation differs from the expected nonce',
    );
  });

  test('OBSERVED: tampered attest (clock byte) is refused, but only as missing_pcrs (signature failure is silent)', async () => {
    const attest = Buffer.from(evidence.attest);
    attest[attest.length - 40] ^= 0x01;
    const e = await refusal(client.verify({ ...evidence, attest }, policyFrom(pcrValues)));
    expect(e.code).toBe('permission_denied');
    expect(e.failures.map((f) => f.type)).toEqual(['pcr_validation.missing_pcrs']);
  });

  test('OBSERVED: another AK than the one that signed is refused, but only as missing_pcrs', async () => {
    const other = createToolsAk(swtpm);
    const e = await refusal(client.verify({ ...evidence, akPublic: other.akPublic }, policyFrom(pcrValues)));
    expect(e.code).toBe('permission_denied');
    expect(e.failures.map((f) => f.type)).toEqual(['pcr_validation.missing_pcrs']);
  });

  test('OBSERVED: an unparsable AK -> permission_denied qoute_validation.invalid_quote (not a 400)', async () => {
    const e = await refusal(
      client.verify({ ...evidence, akPublic: Uint8Array.from([0, 40, 1, 2]) }, policyFrom(pcrValues)),
    );
    expect(e.code).toBe('permission_denied');
    expect(e.httpStatus).toBe(200);
    expect(e.failures.map((f) => f.type)).toEqual(['qoute_validation.invalid_quote']);
  });

  test('OBSERVED: hash_alg other than the signature hash -> quote_validation failure naming both', async () => {
    const e = await refusal(
      client.verify({ ...evidence, hashAlg: 'sha1' }, parseTpmPolicy(JSON.stringify({ 0: ['00'.repeat(20)] }))),
    );
    expect(e.code).toBe('permission_denied');
    expect(e.message).toContain('Quote was expected to use sha1 but used sha256 instead');
  });

  test('OBSERVED: unused bytes of the pcrblob are not checked (flipped padding still valid)', async () => {
    const pcrBlob = Buffer.from(evidence.pcrBlob);
    pcrBlob[pcrBlob.length - 1] ^= 0x01; // inside the 8th, unused TPM2B_DIGEST slot
    await expect(client.verify({ ...evidence, pcrBlob }, policyFrom(pcrValues))).resolves.toBeDefined();
  });

  test('OBSERVED: a quoted PCR 10 is checked against the (empty) IMA list even when the policy omits it', async () => {
    toolsPcrExtend(swtpm, 10, 'sha256', 'cc'.repeat(32));
    const e10 = toolsQuote(swtpm, ak, { nonce: randomBytes(20), pcrs: [0, 10] });
    const e = await refusal(client.verify(e10, parseTpmPolicy(JSON.stringify({ 0: [pcrValues.get(0)] }))));
    expect(e.code).toBe('permission_denied');
    expect(e.failures.map((f) => f.type)).toEqual(['ima.pcr_mismatch']);
  });

  test('missing parameter (empty tpm_ak) -> invalid_argument with Keylime reason', async () => {
    const e = await refusal(client.verify({ ...evidence, akPublic: new Uint8Array() }, policyFrom(pcrValues)));
    expect(e.code).toBe('invalid_argument');
    expect(e.httpStatus).toBe(400);
    expect(e.failures.map((f) => f.type)).toEqual(['default.missing_param']);
    expect(e.message).toContain('default.missing_param: missing parameter "tpm_ak"');
  });

  test('OBSERVED: bad signature + matching PCR policy is refused, but only as missing_pcrs', async () => {
    // The signature's last byte flipped: the RSA check fails inside Keylime with an exception whose message is
    // empty, which Keylime then treats as no quote failure, with no PCR values. A PCR policy then fails for
    // "missing" PCRs; no failure names the signature. With a mask-only policy it passes (raw test below).
    const signature = Buffer.from(evidence.signature);
    signature[signature.length - 1] ^= 0x01;
    const e = await refusal(client.verify({ ...evidence, signature }, policyFrom(pcrValues)));
    expect(e.code).toBe('permission_denied');
    expect(e.failures.map((f) => f.type)).toEqual(['pcr_validation.missing_pcrs']);
    expect(e.failures[0].context).toMatchObject({ data: QUOTED });
  });

  test('OBSERVED raw answers: mask-only policy with a bad signature is valid; no policy is 400 missing_policy', async () => {
    const body = keylimeEvidenceBody(evidence, policyFrom(pcrValues));
    const sig = Buffer.from(evidence.signature);
    sig[sig.length - 1] ^= 0x01;
    const maskOnly = await rawPost(kl, {
      type: 'tpm',
      data: {
        ...body.data,
        quote: body.data.quote.replace(/:[^:]+:/, `:${sig.toString('base64')}:`),
        tpm_policy: '{"mask": "0x0"}',
      },
    });
    expect(maskOnly.status).toBe(200);
    expect(maskOnly.json.results).toMatchObject({ valid: true, failures: [] });
    const noPolicy = await rawPost(kl, { type: 'tpm', data: { ...body.data, tpm_policy: '' } });
    expect(noPolicy.status).toBe(400);
    expect(noPolicy.json.results.failures.map((f) => f.type)).toEqual(['default.missing_policy']);
  });

  test('OBSERVED raw answer: PCR labels in the unsigned pcrblob are trusted (relabelled PCR passes)', async () => {
    // Quote PCR 0 only; its value is the reset value. Relabel the blob's selection to PCR 2 and ask for PCR 2
    // = that value: the digest still matches (same values, same order), and Keylime reports PCR 2.
    const n = randomBytes(20);
    const e0 = toolsQuote(swtpm, ak, { nonce: n, pcrs: [0] });
    const blob = Buffer.from(e0.pcrBlob);
    // First TPMS_PCR_SELECTION at offset 4: u16 alg, u8 size, 3 select bytes.
    expect(blob.readUInt16LE(4)).toBe(0x000b);
    expect(blob[7]).toBe(0x01);
    blob[7] = 0x04;
    const relabelled = { ...e0, pcrBlob: blob };
    const policy = parseTpmPolicy(JSON.stringify({ 2: [pcrValues.get(0)] }));
    await expect(client.verify(relabelled, policy)).resolves.toBeDefined();
  });

  test('TLS with the wrong CA -> unavailable naming the URL and the certificate error', async () => {
    const c = createKeylimeVerifier({ url: kl.url, caPem: readFileSync(swtpm.caRoot), timeoutMs: 5000 });
    try {
      const e = await refusal(c.verify(evidence, policyFrom(pcrValues)));
      expect(e.code).toBe('unavailable');
      expect(e.url).toBe(`${kl.url}/version`);
      expect(e.message).toMatch(
        new RegExp(
          `^keylime verifier ${kl.url}/version: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)`,
        ),
      );
      expect(e.cause).toBeDefined();
    } finally {
      c.close();
    }
  });

  test('a client certificate the verifier does not trust is refused in the TLS handshake -> unavailable', async () => {
    // The swtpm local CA's key pair is a client certificate Keylime's trusted_client_ca did not sign.
    const c = createKeylimeVerifier({
      url: kl.url,
      caPem: readFileSync(kl.caPath),
      clientCertPem: readFileSync(swtpm.caIssuer),
      clientKeyPem: readFileSync(`${swtpm.dir}/ca/signkey.pem`),
      apiVersion: kl.apiVersion,
      timeoutMs: 5000,
    });
    try {
      const e = await refusal(c.verify(evidence, policyFrom(pcrValues)));
      expect(e.code).toBe('unavailable');
      expect(e.message).toContain(`keylime verifier ${kl.url}/v${kl.apiVersion}/verify/evidence`);
    } finally {
      c.close();
    }
  });
});

describe('Keylime verifier client when the verifier hangs or is gone', () => {
  let swtpm: Swtpm;
  let kl: KeylimeVerifierProcess;
  let evidence: QuoteEvidence;
  let policy: TpmPolicy;

  beforeAll(() => {
    swtpm = startSwtpm();
    kl = startKeylimeVerifier();
    const ak = createToolsAk(swtpm);
    evidence = toolsQuote(swtpm, ak, { nonce: randomBytes(20) });
    const values = toolsPcrRead(swtpm, 'sha256', QUOTED);
    policy = policyFrom(values);
  });

  afterAll(() => {
    kl?.stop();
    swtpm?.stop();
  });

  test('SIGSTOPped verifier -> the timeout holds -> unavailable; after SIGCONT the next verify passes', async () => {
    const c = createKeylimeVerifierFromFiles({
      url: kl.url,
      caPath: kl.caPath,
      clientCertPath: kl.clientCertPath,
      clientKeyPath: kl.clientKeyPath,
      timeoutMs: 1500,
    });
    try {
      await c.verify(evidence, policy); // warm: version known, keep-alive socket open
      kl.pause();
      const started = Date.now();
      let e: VerifierError;
      try {
        e = await refusal(c.verify(evidence, policy));
      } finally {
        kl.resume();
      }
      const took = Date.now() - started;
      expect(e.code).toBe('unavailable');
      expect(e.message).toBe(`keylime verifier ${kl.url}/v${kl.apiVersion}/verify/evidence: no answer within 1500 ms`);
      expect(took).toBeGreaterThanOrEqual(1400);
      expect(took).toBeLessThan(5000);
      await expect(c.verify(evidence, policy)).resolves.toBeDefined();
    } finally {
      c.close();
    }
  });

  test('an AbortSignal cancels a hanging request and it is refused, not accepted', async () => {
    const c = createKeylimeVerifier({
      url: kl.url,
      caPem: readFileSync(kl.caPath),
      apiVersion: kl.apiVersion,
      timeoutMs: 30_000,
    });
    try {
      kl.pause();
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('attestation stream closed')), 300);
      let e: VerifierError;
      try {
        e = await refusal(c.verify(evidence, policy, { signal: ac.signal }));
      } finally {
        kl.resume();
      }
      expect(e.code).toBe('unavailable');
      expect(e.message).toContain('cancelled');
    } finally {
      c.close();
    }
  });

  test('stopped verifier -> unavailable naming the URL (connection refused); restarted -> the next verify passes', async () => {
    const c = createKeylimeVerifier({ url: kl.url, caPem: readFileSync(kl.caPath), timeoutMs: 5000 });
    try {
      await c.verify(evidence, policy);
      kl.stop({ keep: true });
      const e = await refusal(c.verify(evidence, policy));
      expect(e.code).toBe('unavailable');
      expect(e.url).toBe(`${kl.url}/v${kl.apiVersion}/verify/evidence`);
      expect(e.message).toContain(`keylime verifier ${kl.url}/v${kl.apiVersion}/verify/evidence: connection refused`);
      // A fresh client must discover the version first: that fails the same way, naming /version.
      const fresh = createKeylimeVerifier({ url: kl.url, caPem: readFileSync(kl.caPath), timeoutMs: 5000 });
      try {
        const e2 = await refusal(fresh.verify(evidence, policy));
        expect(e2.code).toBe('unavailable');
        expect(e2.message).toContain(`keylime verifier ${kl.url}/version: connection refused`);
      } finally {
        fresh.close();
      }
      kl.restart();
      await expect(c.verify(evidence, policy)).resolves.toMatchObject({ verifier: `keylime ${kl.url}` });
    } finally {
      c.close();
    }
  });
});
