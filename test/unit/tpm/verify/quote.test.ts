import { generateKeyPairSync, KeyObject, sign as cryptoSign, constants } from 'node:crypto';
import { marshal, unmarshal } from '../../../../tpm/marshal/codec';
import * as C from '../../../../tpm/marshal/constants';
import { parseTpm2bPublic, publicFromKeyObject, encodeTpm2bPublic } from '../../../../tpm/crypto/public-key';
import type { TpmtPublic } from '../../../../tpm/crypto/public-codec';
import { TpmsAttest, type TpmsAttestQuote } from '../../../../tpm/types/attest';
import { TpmtSignature } from '../../../../tpm/types/signature';
import { parsePcrBlob, pcrBlobToValues } from '../../../../tpm/keylime/pcr-blob';
import { verifyQuote, VerifyQuoteOptions } from '../../../../tpm/verify/quote';
import { verifyAkPolicy } from '../../../../tpm/verify/ak-policy';
import { TpmVerifyError, TpmVerifyErrorCode } from '../../../../tpm/verify/errors';
import { thrown } from '../../../helpers/thrown';
import type { PcrValues } from '../../../../tpm/types/pcr';
import { fixture, fixtureText, mutations } from '../fixtures';

const nonce = new Uint8Array(Buffer.from(fixtureText('nonce.hex'), 'hex'));

function golden(name: 'rsa' | 'ecc' | 'rsapss'): VerifyQuoteOptions {
  return {
    akPublic: fixture(`ak-${name}.pub`),
    attest: fixture(`quote-${name}.attest`),
    signature: fixture(`quote-${name}.sig`),
    nonce,
    pcrs: pcrBlobToValues(parsePcrBlob(fixture(`quote-${name}.pcrs`))),
  };
}

// A software "AK" with the RSA golden AK's template, so tests can sign attest structures the TPM would
// never produce (wrong magic/type, unsafe clock). It is not a TPM key; it only exercises the checks that
// follow a valid signature.
function softwareAk(kind: 'rsa' | 'ecc'): { key: KeyObject; pub: TpmtPublic } {
  const template = parseTpm2bPublic(fixture(`ak-${kind}.pub`)).value;
  const pair =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { key: pair.privateKey, pub: publicFromKeyObject(pair.publicKey, template) };
}

function signAttest(ak: { key: KeyObject; pub: TpmtPublic }, attest: Uint8Array): Uint8Array {
  if (ak.pub.type === C.TPM_ALG_RSA) {
    const sig = cryptoSign('sha256', attest, { key: ak.key, padding: constants.RSA_PKCS1_PADDING });
    return marshal(TpmtSignature, {
      sigAlg: C.TPM_ALG_RSASSA,
      signature: { hash: C.TPM_ALG_SHA256, sig: new Uint8Array(sig) },
    });
  }
  const rs = cryptoSign('sha256', attest, { key: ak.key, dsaEncoding: 'ieee-p1363' });
  return marshal(TpmtSignature, {
    sigAlg: C.TPM_ALG_ECDSA,
    signature: {
      hash: C.TPM_ALG_SHA256,
      signatureR: new Uint8Array(rs.subarray(0, 32)),
      signatureS: new Uint8Array(rs.subarray(32)),
    },
  });
}

/** The golden RSA quote's attest, edited, then signed by a software AK. */
function resigned(edit: (a: TpmsAttestQuote) => void, kind: 'rsa' | 'ecc' = 'rsa'): VerifyQuoteOptions {
  const g = golden('rsa');
  const a = unmarshal(TpmsAttest, g.attest) as TpmsAttestQuote;
  edit(a);
  const ak = softwareAk(kind);
  const attest = marshal(TpmsAttest, a);
  return { ...g, akPublic: encodeTpm2bPublic(ak.pub), attest, signature: signAttest(ak, attest) };
}

describe('verifyQuote on tpm2_quote output from swtpm (golden vectors)', () => {
  it.each(['rsa', 'ecc', 'rsapss'] as const)('%s quote verifies and returns the parsed attest', (name) => {
    const r = verifyQuote(golden(name));
    expect(r.safe).toBe(true);
    expect(r.hash).toBe('sha256');
    expect(r.signatureAlg).toBe({ rsa: C.TPM_ALG_RSASSA, ecc: C.TPM_ALG_ECDSA, rsapss: C.TPM_ALG_RSAPSS }[name]);
    expect(r.firmwareVersion).toBe(0x2019102300163636n);
    expect(r.clock).toBeGreaterThan(0n);
    expect(r.qualifiedSigner.length).toBe(34);
    expect(r.pcrDigest.length).toBe(32);
  });

  it('a software-signed but otherwise unchanged attest verifies (the harness below is sound)', () => {
    expect(verifyQuote(resigned(() => undefined)).safe).toBe(true);
    expect(verifyQuote(resigned(() => undefined, 'ecc')).safe).toBe(true);
  });

  const g = golden('rsa');
  const pcrs = g.pcrs as Required<PcrValues>;
  const flip = (b: Uint8Array, i: number) => {
    const c = Uint8Array.from(b);
    c[i] ^= 1;
    return c;
  };
  const other = softwareAk('rsa');
  const otherP256 = softwareAk('ecc');
  const ecc = golden('ecc');
  const cases: Array<[string, () => VerifyQuoteOptions, TpmVerifyErrorCode, string]> = [
    [
      'truncated AK public',
      () => ({ ...g, akPublic: fixture('ak-rsa.pub').slice(0, 100) }),
      'PUBLIC_MALFORMED',
      'AK public area: ',
    ],
    ['truncated attest', () => ({ ...g, attest: g.attest.slice(0, 60) }), 'ATTEST_MALFORMED', 'TPMS_ATTEST: '],
    [
      'oversized attest (trailing bytes)',
      () => ({ ...g, attest: Uint8Array.from([...g.attest, 0]) }),
      'ATTEST_MALFORMED',
      'TPMS_ATTEST: 1 trailing bytes',
    ],
    [
      'attest with an oversized extraData',
      () => ({
        ...g,
        attest: (() => {
          const a = Uint8Array.from(g.attest);
          a[42] = 0xff;
          return a;
        })(),
      }),
      'ATTEST_MALFORMED',
      'TPMS_ATTEST: ',
    ],
    [
      'truncated signature',
      () => ({ ...g, signature: g.signature.slice(0, 100) }),
      'SIGNATURE_MALFORMED',
      'TPMT_SIGNATURE: ',
    ],
    [
      'oversized signature',
      () => ({ ...g, signature: Uint8Array.from([...g.signature, 1, 2]) }),
      'SIGNATURE_MALFORMED',
      'TPMT_SIGNATURE: 2 trailing bytes',
    ],
    [
      'a PCR value of the wrong size',
      () => ({ ...g, pcrs: { ...pcrs, sha256: { ...pcrs.sha256, 0: new Uint8Array(20) } } }),
      'PCR_VALUES_MALFORMED',
      'PCR sha256:0 has 20 bytes, the sha256 bank needs 32',
    ],
    [
      'RSAPSS signature for an RSASSA AK',
      () => ({ ...golden('rsapss'), akPublic: fixture('ak-rsa.pub') }),
      'SIGNATURE_SCHEME_UNSUPPORTED',
      "signature scheme 0x16/0xb differs from the AK's fixed scheme 0x14/0xb",
    ],
    [
      'ECDSA signature for an RSA AK',
      () => ({ ...ecc, akPublic: fixture('ak-rsa.pub') }),
      'SIGNATURE_SCHEME_UNSUPPORTED',
      'signature algorithm 0x0018 is not RSASSA/RSAPSS (RSA AK) or ECDSA (ECC AK)',
    ],
    [
      'tampered attest bytes (clock)',
      () => ({ ...g, attest: flip(g.attest, 50) }),
      'SIGNATURE_INVALID',
      'quote signature does not verify under the AK',
    ],
    [
      'tampered signature',
      () => ({ ...g, signature: flip(g.signature, 100) }),
      'SIGNATURE_INVALID',
      'quote signature does not verify under the AK',
    ],
    [
      'signature by another key (RSA)',
      () => ({ ...g, akPublic: encodeTpm2bPublic(other.pub) }),
      'SIGNATURE_INVALID',
      'quote signature does not verify under the AK',
    ],
    [
      'signature by another key (ECC)',
      () => ({ ...ecc, akPublic: encodeTpm2bPublic(otherP256.pub) }),
      'SIGNATURE_INVALID',
      'quote signature does not verify under the AK',
    ],
    [
      'tampered ECDSA attest',
      () => ({ ...ecc, attest: flip(ecc.attest, 70) }),
      'SIGNATURE_INVALID',
      'quote signature does not verify under the AK',
    ],
    [
      'wrong magic',
      () => resigned((a) => (a.magic = 0xff544348)),
      'ATTEST_MAGIC',
      'attest magic 0xff544348 is not TPM_GENERATED_VALUE 0xff544347',
    ],
    [
      'wrong type',
      () =>
        resigned((a) =>
          Object.assign(a, {
            type: C.TPM_ST_ATTEST_CERTIFY,
            attested: { name: new Uint8Array(34), qualifiedName: new Uint8Array(34) },
          }),
        ),
      'ATTEST_TYPE',
      'attest type 0x8017 is not TPM_ST_ATTEST_QUOTE 0x8018',
    ],
    [
      'wrong nonce',
      () => ({ ...g, nonce: flip(nonce, 3) }),
      'NONCE_MISMATCH',
      'quote extraData does not equal the nonce',
    ],
    [
      'nonce of another length',
      () => ({ ...g, nonce: nonce.slice(1) }),
      'NONCE_MISMATCH',
      'quote extraData does not equal the nonce',
    ],
    [
      'an empty nonce, even for a quote without qualifyingData',
      () => ({ ...resigned((a) => (a.extraData = new Uint8Array(0))), nonce: new Uint8Array(0) }),
      'NONCE_MISMATCH',
      'the expected nonce is empty',
    ],
    [
      'a quoted PCR not supplied',
      () => ({
        ...g,
        pcrs: {
          sha1: pcrs.sha1,
          sha256: { 0: pcrs.sha256[0], 1: pcrs.sha256[1], 2: pcrs.sha256[2], 16: pcrs.sha256[16] },
        },
      }),
      'PCR_NOT_SUPPLIED',
      'PCR sha256:3 is quoted but no value was supplied',
    ],
    [
      'a quoted bank not supplied',
      () => ({ ...g, pcrs: { sha256: pcrs.sha256 } }),
      'PCR_NOT_SUPPLIED',
      'PCR sha1:16 is quoted but no value was supplied',
    ],
    [
      'a supplied PCR not quoted',
      () => ({ ...g, pcrs: { ...pcrs, sha256: { ...pcrs.sha256, 7: new Uint8Array(32) } } }),
      'PCR_NOT_QUOTED',
      'PCR sha256:7 was supplied but is not in the quote',
    ],
    [
      'a supplied bank not quoted',
      () => ({ ...g, pcrs: { ...pcrs, sha384: { 0: new Uint8Array(48) } } }),
      'PCR_NOT_QUOTED',
      'PCR sha384:0 was supplied but is not in the quote',
    ],
    [
      // "01" is index 1 to Number() but not the key the digest reads: a value beside the quoted ones.
      'a quoted PCR supplied again under another spelling of its index',
      () => ({ ...g, pcrs: { ...pcrs, sha256: { ...pcrs.sha256, '01': new Uint8Array(32) } } }),
      'PCR_NOT_QUOTED',
      'PCR sha256:01 was supplied but is not in the quote',
    ],
    [
      'a PCR value changed',
      () => ({ ...g, pcrs: { ...pcrs, sha256: { ...pcrs.sha256, 16: flip(pcrs.sha256[16], 0) } } }),
      'PCR_DIGEST_MISMATCH',
      'quoted PCR digest ',
    ],
    [
      'clock not safe',
      () => resigned((a) => (a.clockInfo.safe = false)),
      'CLOCK_NOT_SAFE',
      'quote clockInfo.safe is NO',
    ],
  ];
  it.each(cases)('rejects %s', (_n, make, code, message) => {
    const e = thrown(TpmVerifyError, () => verifyQuote(make()));
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
    expect(e.kind).toBe(code.endsWith('_MALFORMED') ? 'malformed' : 'rejected');
  });

  it('accepts an unsafe clock only when requireSafeClock is false, and reports it', () => {
    const unsafe = resigned((a) => (a.clockInfo.safe = false));
    expect(verifyQuote({ ...unsafe, requireSafeClock: false }).safe).toBe(false);
    expect(
      thrown(TpmVerifyError, () => verifyQuote({ ...unsafe, requireSafeClock: false, nonce: new Uint8Array(32) })).code,
    ).toBe('NONCE_MISMATCH');
  });

  it('checks in the documented order: signature before magic, nonce and PCRs', () => {
    // wrong nonce + changed PCR + tampered attest: the signature failure is reported
    expect(
      thrown(TpmVerifyError, () => verifyQuote({ ...g, attest: flip(g.attest, 50), nonce: flip(nonce, 0), pcrs: {} }))
        .code,
    ).toBe('SIGNATURE_INVALID');
    // wrong nonce + missing PCRs: the nonce is reported
    expect(thrown(TpmVerifyError, () => verifyQuote({ ...g, nonce: flip(nonce, 0), pcrs: {} })).code).toBe(
      'NONCE_MISMATCH',
    );
  });

  it('fuzz: mutated attest, signature and AK bytes throw only TpmVerifyError; no changed signed byte passes', () => {
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
    let rejected = 0;
    for (const [field, valid] of [
      ['attest', g.attest],
      ['signature', g.signature],
      ['akPublic', fixture('ak-rsa.pub')],
    ] as const) {
      for (const m of mutations(valid, 1500, field.length * 104729)) {
        try {
          verifyQuote({ ...g, [field]: m });
          // attributes/authPolicy of the AK are not verifyQuote's business (verifyAkPolicy's), so an edited AK
          // area may pass; an edited attest or signature never may
          if (field !== 'akPublic' && !same(m, valid))
            throw new Error(`${field} ${Buffer.from(m).toString('hex')} passed`);
        } catch (e) {
          if (!(e instanceof TpmVerifyError))
            throw new Error(`${field} ${Buffer.from(m).toString('hex')}: non-typed ${e}`, { cause: e });
          rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(4000);
  });
});

/** The public area with its signing scheme fixed to `scheme` over `hashAlg`. */
const withScheme = (pub: TpmtPublic, scheme: number, hashAlg: number): TpmtPublic =>
  ({ ...pub, parameters: { ...pub.parameters, scheme: { scheme, details: { hashAlg } } } }) as TpmtPublic;

/** The ECC public area with its point moved off the curve (last bit of y flipped). */
function offCurve(pub: TpmtPublic): TpmtPublic {
  const unique = pub.unique as { x: Uint8Array; y: Uint8Array };
  const y = Uint8Array.from(unique.y);
  y[y.length - 1] ^= 1;
  return { ...pub, unique: { x: unique.x, y } } as TpmtPublic;
}

describe('verifyAkPolicy', () => {
  it('the golden AKs fix SHA-256 schemes and NULL is left to the quote', () => {
    const ecc = parseTpm2bPublic(fixture('ak-ecc.pub')).value;
    expect((ecc.parameters as { scheme: { details?: { hashAlg: number } } }).scheme.details?.hashAlg).toBe(
      C.TPM_ALG_SHA256,
    );
    const rsa = parseTpm2bPublic(fixture('ak-rsa.pub')).value;
    const nullScheme = { ...rsa, parameters: { ...rsa.parameters, scheme: { scheme: C.TPM_ALG_NULL } } } as TpmtPublic;
    expect(verifyAkPolicy(nullScheme).type).toBe(C.TPM_ALG_RSA);
  });

  it.each(['rsa', 'ecc', 'rsapss'])('accepts the tpm2_createak %s AK', (n) => {
    expect(verifyAkPolicy(fixture(`ak-${n}.pub`)).nameAlg).toBe(C.TPM_ALG_SHA256);
  });

  const base = parseTpm2bPublic(fixture('ak-rsa.pub')).value;
  const attrs = (clear: number, set = 0): TpmtPublic => ({
    ...base,
    objectAttributes: ((base.objectAttributes & ~clear) | set) >>> 0,
  });
  const weakRsa = publicFromKeyObject(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, base);
  const eccBase = parseTpm2bPublic(fixture('ak-ecc.pub')).value;
  it.each<[string, TpmtPublic | Uint8Array, TpmVerifyErrorCode, string]>([
    [
      'not fixedTPM',
      attrs(C.TPMA_OBJECT_fixedTPM),
      'AK_NOT_FIXED_TPM',
      'AK attribute fixedTPM is not set (objectAttributes 0x50070)',
    ],
    ['not fixedParent', attrs(C.TPMA_OBJECT_fixedParent), 'AK_NOT_FIXED_PARENT', 'AK attribute fixedParent is not set'],
    [
      'not sensitiveDataOrigin',
      attrs(C.TPMA_OBJECT_sensitiveDataOrigin),
      'AK_NOT_SENSITIVE_DATA_ORIGIN',
      'AK attribute sensitiveDataOrigin is not set',
    ],
    [
      'not restricted',
      attrs(C.TPMA_OBJECT_restricted),
      'AK_NOT_RESTRICTED',
      'AK attribute restricted is not set (objectAttributes 0x40072)',
    ],
    ['not sign', attrs(C.TPMA_OBJECT_sign), 'AK_NOT_SIGNING', 'AK attribute sign is not set'],
    [
      'decrypt',
      attrs(0, C.TPMA_OBJECT_decrypt),
      'AK_DECRYPT',
      'AK attribute decrypt is set (objectAttributes 0x70072)',
    ],
    ['RSA-1024', weakRsa, 'AK_KEY_WEAK', 'AK is RSA-1024; at least 2048 bits required'],
    [
      'BN P-256',
      { ...eccBase, parameters: { ...eccBase.parameters, curveID: C.TPM_ECC_BN_P256 } } as TpmtPublic,
      'AK_KEY_WEAK',
      'AK curve 0x0010 is not NIST P-256, P-384 or P-521',
    ],
    [
      'SHA-1 nameAlg',
      { ...base, nameAlg: C.TPM_ALG_SHA1 },
      'AK_NAME_ALG_WEAK',
      'AK nameAlg 0x0004 is not SHA-256, SHA-384 or SHA-512',
    ],
    ['truncated bytes', fixture('ak-rsa.pub').slice(0, 50), 'PUBLIC_MALFORMED', 'AK public area: '],
    [
      'fixed to SHA-1 signatures',
      withScheme(base, C.TPM_ALG_RSASSA, C.TPM_ALG_SHA1),
      'AK_SCHEME_WEAK',
      'AK signing scheme hash 0x0004 is not SHA-256, SHA-384 or SHA-512',
    ],
    [
      'RSA fixed to ECDSA',
      withScheme(base, C.TPM_ALG_ECDSA, C.TPM_ALG_SHA256),
      'AK_SCHEME_WEAK',
      'AK signing scheme 0x0018 is not RSASSA or RSAPSS (an RSA key)',
    ],
    [
      'ECC fixed to SHA-1 ECDSA',
      withScheme(eccBase, C.TPM_ALG_ECDSA, C.TPM_ALG_SHA1),
      'AK_SCHEME_WEAK',
      'AK signing scheme hash 0x0004',
    ],
    ['an ECC point off its curve', offCurve(eccBase), 'PUBLIC_MALFORMED', 'AK public key: '],
  ])('rejects an AK that is %s', (_n, pub, code, message) => {
    const e = thrown(TpmVerifyError, () => verifyAkPolicy(pub));
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });
});
