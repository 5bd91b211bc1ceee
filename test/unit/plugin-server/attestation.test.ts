// The server's checks, in their documented order, driven with golden evidence captured from swtpm
// (test/fixtures/tpm): each refusal is asserted with its gRPC code and message together.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Code } from '../../../plugin-sdk';
import { AttestationChallengeSchema, type AttestationChallenge } from '../../../proto/gen/tpmquote/v1/attestation_pb';
import { fromBinary } from '@bufbuild/protobuf';
import { parsePcrBlob, pcrBlobToValues } from '../../../tpm/keylime/pcr-blob';
import { configureServer, type ServerConfig } from '../../../plugin-server/config';
import { AttestationError } from '../../../plugin-server/attestation-error';
import { startAttestation } from '../../../plugin-server/attestation-checks';
import {
  deps,
  fx,
  goldenConfig,
  goldenDir,
  NONCE,
  payload,
  pcrValues,
  response,
  SECRET,
  SELECTION,
  strip2b,
} from './golden-evidence';
import { qualifiedNameUnderEk } from '../../../tpm/crypto/public-key';
import { encodeTpm2bPublic, parseTpm2bPublic, parseTpmtPublic } from '../../../tpm/crypto/public-key';
import type { TpmtPublic } from '../../../tpm/crypto/public-codec';
import * as C from '../../../tpm/marshal/constants';
import { TpmsAttest } from '../../../tpm/types/attest';
import { unmarshal } from '../../../tpm/marshal/codec';
import { createEventLog, encodeEventLog, EV } from '../../../tpm/eventlog';

// A log that extends PCR 0 once: the golden quote's sha256:0 is still the reset value, so that event was never extended.
const PCR0_LOG = encodeEventLog(
  createEventLog({
    banks: ['sha256'],
    events: [{ pcr: 0, type: EV.EV_S_CRTM_VERSION, data: new Uint8Array(Buffer.from('v\0', 'utf16le')) }],
  }),
);

let dir: string;
beforeAll(() => {
  dir = goldenDir();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (extra = ''): ServerConfig => goldenConfig(dir, extra);

async function refusal(
  fn: () => unknown,
): Promise<{ code: number; message: string; reason: string; publicMessage: string }> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof AttestationError)) throw err;
    return { code: err.code, message: err.message, reason: err.reason, publicMessage: err.publicMessage };
  }
  throw new Error('expected a refusal');
}

describe('server attestation checks, in order', () => {
  test('golden evidence passes every check: agent ID, selectors from the EK cert, the quote and each PCR', async () => {
    const pending = startAttestation(config(), payload(), deps());
    const challenge: AttestationChallenge = fromBinary(AttestationChallengeSchema, pending.challenge);
    expect(challenge.version).toBe(1);
    expect(Buffer.from(challenge.nonce).equals(NONCE)).toBe(true);
    expect(challenge.pcrSelection.map((s) => `${s.bank}:${s.pcrs.join(',')}`)).toEqual([
      'sha256:0,1,2,3,16',
      'sha1:16',
    ]);
    expect(challenge.credentialBlob.length).toBeGreaterThan(2);
    expect(challenge.encryptedSecret.length).toBe(2 + 256);
    const result = await pending.finish(response());
    expect(result.spiffeId).toBe(`spiffe://example.org/spire/agent/tpm_quote/${pending.ekHash}`);
    expect(pending.ekHash).toMatch(/^[0-9a-f]{64}$/);
    const s = result.selectorValues;
    expect(s[0]).toBe(`ek_hash:${pending.ekHash}`);
    expect(s).toContain('ek_issuer:swtpm-localca');
    expect(s).toContain('manufacturer:id:00001014');
    expect(s.filter((v) => v.startsWith('model:'))).toHaveLength(1);
    // The golden AK was made by tpm2_createak under the EK: its quote's firmwareVersion is real (swtpm 0x20191023).
    expect(s.filter((v) => v.startsWith('firmware_version:'))).toEqual(['firmware_version:8217.4131']);
    expect(s.filter((v) => v.startsWith('pcr:'))).toHaveLength(6);
    expect(s.filter((v) => v.startsWith('pcr:')).map((v) => v.split(':').slice(0, 3).join(':'))).toEqual([
      'pcr:sha256:0',
      'pcr:sha256:1',
      'pcr:sha256:2',
      'pcr:sha256:3',
      'pcr:sha256:16',
      'pcr:sha1:16',
    ]);
  });

  test("the node's tpm_info is kept for the log only: printable and bounded, never a selector", async () => {
    const bytes = payload({
      tpmInfo: {
        manufacturer: 'IBM\n\u0000',
        vendor: 'v'.repeat(500),
        firmwareVersion: '8217.4131',
        pcrBanks: ['sha1', 'sha256'],
      },
    });
    const pending = startAttestation(config(), bytes, deps());
    expect(pending.reportedTpm).toEqual({
      manufacturer: 'IBM??',
      vendor: 'v'.repeat(64),
      firmwareVersion: '8217.4131',
      pcrBanks: 'sha1,sha256',
    });
    const result = await pending.finish(response());
    expect(result.selectorValues.some((v) => v.includes('IBM?') || v.includes('vvvv'))).toBe(false);
  });

  test.each([
    [
      'not protobuf',
      () => new Uint8Array([0xff, 0xff, 0xff]),
      /^malformed payload: not a tpmquote.v1 AttestationPayload: /,
    ],
    ['empty', () => new Uint8Array(), /^malformed payload: empty$/],
    [
      'version 2',
      () => payload({ version: 2 }),
      /^malformed payload: version 2 is not supported \(this plugin speaks version 1\)$/,
    ],
    ['empty ek_public', () => payload({ ekPublic: new Uint8Array() }), /^malformed payload.ek_public: empty$/],
    [
      'truncated ak_public',
      () => payload({ akPublic: strip2b(fx('ak-rsa.pub')).subarray(0, 20) }),
      /^malformed payload.ak_public: not a TPMT_PUBLIC/,
    ],
    [
      'garbage EK certificate',
      () => payload({ ekCertificate: new Uint8Array([0x30, 0x03, 1, 2, 3]) }),
      /^malformed payload.ek_certificate: EK certificate/,
    ],
    ['oversized', () => new Uint8Array(70 * 1024), /^malformed payload: 71680 bytes exceeds the maximum 65536$/],
  ])('malformed payload (%s) -> InvalidArgument', async (_name, make, message) => {
    const r = await refusal(() => startAttestation(config(), make(), deps()));
    expect(r).toMatchObject({ code: Code.INVALID_ARGUMENT, reason: 'malformed' });
    expect(r.message).toMatch(message);
  });

  test('1. EK certificate from another CA -> PermissionDenied naming the EK trust check', async () => {
    const cfg = configureServer(
      { trustDomain: 'example.org' },
      `ek_ca_path = "${join(dir, 'other-cas.pem')}"\npcr_selection = "${SELECTION}"\n`,
    );
    if (!('config' in cfg)) throw new Error('config');
    const r = await refusal(() => startAttestation(cfg.config, payload(), deps()));
    expect(r.code).toBe(Code.PERMISSION_DENIED);
    expect(r.reason).toBe('ek_trust');
    expect(r.message).toMatch(
      /^EK trust check failed: EK certificate does not chain to ek_ca_path .*other-cas\.pem: .*\(EK_CERT_UNTRUSTED\) \(ek_trust = "any"\)$/,
    );
    // The caller is not told which file (nor which CAs) it was checked against.
    expect(r.publicMessage).toBe(
      'EK trust check failed: the EK certificate does not chain to a trusted CA (EK_CERT_UNTRUSTED)',
    );
  });

  test('1. the EK certificate cache: filled by an attestation, empty after Configure, dates checked on a hit', async () => {
    const cfg = config();
    expect(cfg.ekCertificates.size).toEqual({ parsed: 0, verified: 0 });
    const first = startAttestation(cfg, payload(), deps());
    first.dispose();
    expect(cfg.ekCertificates.size).toEqual({ parsed: 1, verified: 1 });
    // The path is remembered, the clock is not: past the certificates' notAfter (9999-12-31) it is refused.
    const late = { ...deps(), now: () => new Date(Date.UTC(10000, 0, 1)) };
    const r = await refusal(() => startAttestation(cfg, payload(), late));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'ek_trust' });
    expect(r.message).toMatch(
      /^EK trust check failed: EK certificate does not chain to ek_ca_path .*: EK certificate .* is valid from .*\(EK_CERT_EXPIRED\)/,
    );
    // A new Configure (same HCL) starts empty: nothing verified under the old one is reused.
    expect(config().ekCertificates.size).toEqual({ parsed: 0, verified: 0 });
    expect(config().ekCertificates).not.toBe(cfg.ekCertificates);
  });

  test('1. EK certificate whose key is not ek_public -> PermissionDenied (even when the certificate is trusted)', async () => {
    const r = await refusal(() =>
      startAttestation(config(), payload({ ekCertificate: fx('ek-ecc-cert.der') }), deps()),
    );
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'ek_trust' });
    expect(r.message).toBe(
      "EK trust check failed: the EK certificate's public key differs from ek_public (the key credential activation uses)",
    );
  });

  test('1. no certificate and no allowlist -> PermissionDenied', async () => {
    const r = await refusal(() => startAttestation(config(), payload({ ekCertificate: new Uint8Array() }), deps()));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'ek_trust' });
    expect(r.message).toMatch(/^EK trust check failed: no EK certificate was sent, so it cannot chain to ek_ca_path/);
    expect(r.publicMessage).toBe('EK trust check failed: no EK certificate was sent');
  });

  test('1. the EK hash allowlist admits an EK without a certificate', async () => {
    const first = startAttestation(config(), payload(), deps());
    writeFileSync(join(dir, 'hashes.txt'), `# ours\n${first.ekHash.toUpperCase()}\n`);
    const cfg = configureServer(
      { trustDomain: 'example.org' },
      `ek_hash_path = "${join(dir, 'hashes.txt')}"\npcr_selection = "${SELECTION}"\n`,
    );
    if (!('config' in cfg)) throw new Error(cfg.notes.join());
    const pending = startAttestation(cfg.config, payload({ ekCertificate: new Uint8Array() }), deps());
    const result = await pending.finish(response());
    // No certificate chained: no selectors from it.
    expect(result.selectorValues.some((s) => /^(ek_issuer|manufacturer|model):/.test(s))).toBe(false);
    expect(result.selectorValues[0]).toBe(`ek_hash:${first.ekHash}`);
  });

  test('2. AK without fixedTPM -> PermissionDenied naming the AK attributes check', async () => {
    const ak = new Uint8Array(strip2b(fx('ak-rsa.pub')));
    // TPMT_PUBLIC: type u16, nameAlg u16, objectAttributes u32 (fixedTPM = bit 1).
    ak[7] &= ~0x02;
    const r = await refusal(() => startAttestation(config(), payload({ akPublic: ak }), deps()));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'ak_attributes' });
    expect(r.message).toMatch(/^AK attributes check failed: AK attribute fixedTPM is not set .*\(AK_NOT_FIXED_TPM\)$/);
  });

  test.each([
    [
      'an AK fixed to SHA-1 signatures -> PermissionDenied (AK attributes)',
      (pub: TpmtPublic) =>
        ({
          ...pub,
          parameters: { ...pub.parameters, scheme: { scheme: C.TPM_ALG_RSASSA, details: { hashAlg: C.TPM_ALG_SHA1 } } },
        }) as TpmtPublic,
      'ak-rsa.pub',
      Code.PERMISSION_DENIED,
      'AK attributes check failed: AK signing scheme hash 0x0004 is not SHA-256, SHA-384 or SHA-512 (AK_SCHEME_WEAK)',
    ],
    [
      'an ECC AK whose point is off its curve -> InvalidArgument',
      (pub: TpmtPublic) => {
        const u = pub.unique as { x: Uint8Array; y: Uint8Array };
        const y = Uint8Array.from(u.y);
        y[y.length - 1] ^= 1;
        return { ...pub, unique: { x: u.x, y } } as TpmtPublic;
      },
      'ak-ecc.pub',
      Code.INVALID_ARGUMENT,
      /^malformed payload\.ak_public: AK public key: /,
    ],
  ])('2. %s, before any challenge is made', async (_n, edit, file, code, message) => {
    const ak = strip2b(encodeTpm2bPublic(edit(parseTpm2bPublic(fx(file)).value)));
    let draws = 0;
    const r = await refusal(() =>
      startAttestation(config(), payload({ akPublic: ak }), { ...deps(), random: (n) => (draws++, new Uint8Array(n)) }),
    );
    expect(r.code).toBe(code);
    expect(r.message).toMatch(message);
    expect(r.publicMessage).toBe(r.message);
    expect(draws).toBe(0);
  });

  test('3. wrong activated secret -> PermissionDenied naming credential activation', async () => {
    const pending = startAttestation(config(), payload(), deps());
    const r = await refusal(() => pending.finish(response({ activatedSecret: new Uint8Array(32).fill(0x43) })));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'credential_activation' });
    expect(r.message).toMatch(/^credential activation check failed: the activated secret differs/);
  });

  test('4. quote over another nonce -> PermissionDenied naming the quote check', async () => {
    const pending = startAttestation(config(), payload(), deps(new Uint8Array(32).fill(7)));
    const r = await refusal(() => pending.finish(response()));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'quote' });
    expect(r.message).toBe('quote check failed: quote extraData does not equal the nonce (NONCE_MISMATCH)');
  });

  test('5. an event log whose replay is not the quoted PCR 0 -> PermissionDenied naming PCR, bank and event', async () => {
    const pending = startAttestation(config(), payload(), deps());
    const r = await refusal(() => pending.finish(response({ eventLog: PCR0_LOG })));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'event_log' });
    expect(r.message).toMatch(
      /^event log check failed: PCR sha256:0: the quoted value is the replay of the first 0 of its 1 events; event 1 \(EV_S_CRTM_VERSION\) and the 0 after it on this PCR were not extended$/,
    );
  });

  test('5. the event log is judged after the quote: a bad log with a quote over another nonce fails the quote check', async () => {
    const pending = startAttestation(config(), payload(), deps(new Uint8Array(32).fill(7)));
    const r = await refusal(() => pending.finish(response({ eventLog: PCR0_LOG })));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'quote' });
  });

  test('5. an event log that does not decode -> InvalidArgument naming challenge_response.event_log', async () => {
    const pending = startAttestation(config(), payload(), deps());
    const r = await refusal(() => pending.finish(response({ eventLog: PCR0_LOG.subarray(0, 40) })));
    expect(r).toMatchObject({ code: Code.INVALID_ARGUMENT, reason: 'malformed' });
    expect(r.message).toMatch(/^malformed challenge_response\.event_log: /);
  });

  test('5. event_log = "required" refuses a response without a log; "ignore" never reads one', async () => {
    let pending = startAttestation(config('event_log = "required"\n'), payload(), deps());
    const r = await refusal(() => pending.finish(response()));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'event_log' });
    pending = startAttestation(config('event_log = "ignore"\n'), payload(), deps());
    const ok = await pending.finish(response({ eventLog: PCR0_LOG }));
    expect(ok.selectorValues.some((v) => v.startsWith('secure_boot'))).toBe(false);
  });

  test('4. a PCR value that is not what was quoted -> PermissionDenied (PCR digest)', async () => {
    const values = pcrValues();
    values[0].values[4] = { index: 16, digest: new Uint8Array(32).fill(9) };
    const pending = startAttestation(config(), payload(), deps());
    const r = await refusal(() => pending.finish(response({ pcrValues: values })));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'quote' });
    expect(r.message).toMatch(
      /^quote check failed: quoted PCR digest [0-9a-f]+ differs from [0-9a-f]+, the sha256 of the supplied values \(PCR_DIGEST_MISMATCH\)$/,
    );
  });

  test('4. a bad signature -> PermissionDenied', async () => {
    const sig = new Uint8Array(fx('quote-rsa.sig'));
    sig[sig.length - 1] ^= 1;
    const pending = startAttestation(config(), payload(), deps());
    const r = await refusal(() => pending.finish(response({ quoteSignature: sig })));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'quote' });
    expect(r.message).toBe('quote check failed: quote signature does not verify under the AK (SIGNATURE_INVALID)');
  });

  test('4. a quote of other PCRs than asked -> PermissionDenied', async () => {
    const cfg = configureServer(
      { trustDomain: 'example.org' },
      `ek_ca_path = "${join(dir, 'cas.pem')}"\npcr_selection = "sha256:0-7"\n`,
    );
    if (!('config' in cfg)) throw new Error('config');
    const pending = startAttestation(cfg.config, payload(), deps());
    const r = await refusal(() => pending.finish(response()));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'quote' });
    expect(r.message).toBe(
      'quote check failed: the quote covers sha256:0,1,2,3,16+sha1:16, not the PCRs asked for (sha256:0,1,2,3,4,5,6,7)',
    );
  });

  test('5. PCR policy mismatch -> PermissionDenied naming the PCR and the policy', async () => {
    const values = pcrBlobToValues(parsePcrBlob(fx('quote-rsa.pcrs')));
    const good = Buffer.from(values.sha256![0]).toString('hex');
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ 0: [good], 16: ['ab'.repeat(32)] }));
    const pending = startAttestation(config(`pcr_policy_path = "${join(dir, 'policy.json')}"\n`), payload(), deps());
    const r = await refusal(() => pending.finish(response()));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'pcr_policy' });
    const got16 = Buffer.from(values.sha256![16]).toString('hex');
    expect(r.message).toBe(
      `PCR policy check failed: PCR policy: PCR sha256:16 is ${got16}, the policy allows ${'ab'.repeat(32)} (policy ${join(dir, 'policy.json')})`,
    );
    // The caller learns which of its PCRs failed, never the allowed values nor the policy file.
    expect(r.publicMessage).toBe('PCR policy check failed: PCR sha256:16 is not allowed');
  });

  test('5. a matching PCR policy passes', async () => {
    const values = pcrBlobToValues(parsePcrBlob(fx('quote-rsa.pcrs')));
    writeFileSync(
      join(dir, 'policy-ok.json'),
      JSON.stringify({
        0: [Buffer.from(values.sha256![0]).toString('hex')],
        16: [Buffer.from(values.sha256![16]).toString('hex'), 'cd'.repeat(32)],
      }),
    );
    const pending = startAttestation(config(`pcr_policy_path = "${join(dir, 'policy-ok.json')}"\n`), payload(), deps());
    await expect(pending.finish(response())).resolves.toMatchObject({ ekHash: pending.ekHash });
  });

  test("QN helper: the golden quote's qualifiedSigner is the AK under the RSA EK, not under the ECC EK", () => {
    const ek = parseTpmtPublic(strip2b(fx('ek-rsa.pub')));
    const ak = parseTpmtPublic(strip2b(fx('ak-rsa.pub')));
    const ecc = parseTpmtPublic(strip2b(fx('ek-ecc.pub')));
    const signer = unmarshal(TpmsAttest, fx('quote-rsa.attest')).qualifiedSigner;
    expect(Buffer.from(qualifiedNameUnderEk(ek, ak)).equals(Buffer.from(signer))).toBe(true);
    expect(Buffer.from(qualifiedNameUnderEk(ecc, ak)).equals(Buffer.from(signer))).toBe(false);
  });

  test("an AK that is not the EK's child: attested, but no firmware_version selector (the value would be obfuscated)", async () => {
    // The ECC EK (with its own certificate) and an AK whose quotes name the RSA EK as its parent.
    const pending = startAttestation(
      config(),
      payload({ ekCertificate: fx('ek-ecc-cert.der'), ekPublic: strip2b(fx('ek-ecc.pub')) }),
      deps(),
    );
    const result = await pending.finish(response());
    expect(result.selectorValues.some((v) => v.startsWith('firmware_version:'))).toBe(false);
    expect(result.selectorValues).toContain('ek_issuer:swtpm-localca');
  });

  /** deps() that also hands back the very arrays the server drew (its nonce and secret), to watch them wiped. */
  function watchedDeps() {
    const drawn: Uint8Array[] = [];
    const d = deps();
    return {
      drawn,
      deps: {
        ...d,
        random: () => {
          const b = d.random();
          drawn.push(b);
          return b;
        },
      },
    };
  }

  test('single use: a second response to the same challenge is refused, and the nonce and secret are wiped', async () => {
    const w = watchedDeps();
    const pending = startAttestation(config(), payload(), w.deps);
    // The golden nonce (captured with tpm2_quote) is 16 bytes; the secret is SECRET_BYTES.
    expect(w.drawn.map((b) => b.length)).toEqual([NONCE.length, 32]);
    expect(w.drawn.every((b) => b.some((x) => x !== 0))).toBe(true);
    await pending.finish(response());
    expect(w.drawn.every((b) => b.every((x) => x === 0))).toBe(true);
    const r = await refusal(() => pending.finish(response()));
    expect(r).toMatchObject({
      code: Code.INVALID_ARGUMENT,
      reason: 'malformed',
      message: 'this attestation already received its challenge response',
    });
  });

  test('single use: a refused response wipes the nonce and secret too, and the right response is then refused', async () => {
    const w = watchedDeps();
    const pending = startAttestation(config(), payload(), w.deps);
    const first = await refusal(() => pending.finish(response({ activatedSecret: new Uint8Array(32).fill(0x43) })));
    expect(first).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'credential_activation' });
    expect(w.drawn.every((b) => b.every((x) => x === 0))).toBe(true);
    const second = await refusal(() => pending.finish(response()));
    expect(second).toMatchObject({
      code: Code.INVALID_ARGUMENT,
      reason: 'malformed',
      message: 'this attestation already received its challenge response',
    });
  });

  test('3. an activated secret of another length -> PermissionDenied, not a timingSafeEqual RangeError (Internal)', async () => {
    const pending = startAttestation(config(), payload(), deps());
    const r = await refusal(() => pending.finish(response({ activatedSecret: SECRET.subarray(0, 31) })));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'credential_activation' });
  });

  test('4. a PCR value sent but not quoted -> PermissionDenied (it would otherwise become a selector)', async () => {
    const values = pcrValues();
    values[0].values.push({ index: 23, digest: new Uint8Array(32).fill(1) });
    const pending = startAttestation(config(), payload(), deps());
    const r = await refusal(() => pending.finish(response({ pcrValues: values })));
    expect(r).toMatchObject({ code: Code.PERMISSION_DENIED, reason: 'quote' });
    expect(r.message).toBe('quote check failed: PCR sha256:23 was supplied but is not in the quote (PCR_NOT_QUOTED)');
  });

  test('malformed response -> InvalidArgument, carrying the EK hash for the log', async () => {
    const pending = startAttestation(config(), payload(), deps());
    try {
      await pending.finish(new Uint8Array([1, 2, 3]));
      throw new Error('expected a refusal');
    } catch (err) {
      expect(err).toBeInstanceOf(AttestationError);
      expect((err as AttestationError).code).toBe(Code.INVALID_ARGUMENT);
      expect((err as AttestationError).message).toMatch(/^malformed challenge_response: /);
      expect((err as AttestationError).ekHash).toBe(pending.ekHash);
    }
  });
});
