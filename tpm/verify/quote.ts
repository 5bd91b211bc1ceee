// Quote verification (TPM 2.0 Part 3, 18.4 TPM2_Quote; TPMS_ATTEST Part 2, 10.12.12): pure, no TPM.
import { constants, KeyObject, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { unmarshal, type Codec } from '../marshal/codec';
import * as C from '../marshal/constants';
import { hashInfo, HashName } from '../crypto/hash';
import { pcrCompositeDigest } from '../crypto/pcr-digest';
import { curveInfo, PublicArea, publicToKeyObject } from '../crypto/public-key';
import type { TpmtPublic } from '../crypto/public-codec';
import { TpmsAttest, type TpmsAttestQuote, type TpmsClockInfo } from '../types/attest';
import { selectedPcrs, type PcrValues, type TpmsPcrSelection } from '../types/pcr';
import { TpmtSignature } from '../types/signature';
import { parseAkPublic } from './ak-policy';
import { TpmVerifyError } from './errors';
import { bankName, checkPcrValues } from './pcr-values';

export interface VerifyQuoteOptions {
  /** The AK public area: TPM2B_PUBLIC bytes, or already decoded. */
  akPublic: Uint8Array | TpmtPublic | PublicArea;
  /** TPMS_ATTEST bytes exactly as signed (`tpm2_quote -m`, the quote's TPM2B_ATTEST without its size). */
  attest: Uint8Array;
  /** TPMT_SIGNATURE bytes (`tpm2_quote -s`). */
  signature: Uint8Array;
  /** The nonce the server issued; extraData must equal it. An empty nonce is refused (NONCE_MISMATCH). */
  nonce: Uint8Array;
  /** PCR values the evidence claims, by bank and index; must match the quoted selection exactly. */
  pcrs: PcrValues;
  /**
   * Refuse a quote whose clockInfo.safe is NO (default true). Pass false when freshness comes from a
   * single-use nonce: after any unorderly TPM shutdown a TPM reports safe = NO until it next writes Clock to
   * NV, which can take an hour, and refusing then would only lock healthy nodes out. The result's `safe`
   * still tells.
   */
  requireSafeClock?: boolean;
}

export interface VerifiedQuote {
  /** The decoded TPMS_ATTEST. */
  attest: TpmsAttestQuote;
  /** Name of the key that signed (qualifiedSigner is its qualified Name). */
  qualifiedSigner: Uint8Array;
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: boolean;
  firmwareVersion: bigint;
  /** The quoted selection, in order. */
  pcrSelection: TpmsPcrSelection[];
  pcrDigest: Uint8Array;
  /** TPM_ALG_RSASSA, TPM_ALG_RSAPSS or TPM_ALG_ECDSA. */
  signatureAlg: number;
  /** Hash of the signature and of the PCR digest. */
  hash: HashName;
}

const SIGNATURE_HASHES = [C.TPM_ALG_SHA256, C.TPM_ALG_SHA384, C.TPM_ALG_SHA512];

function decode<T>(
  codec: Codec<T>,
  bytes: Uint8Array,
  code: 'ATTEST_MALFORMED' | 'SIGNATURE_MALFORMED',
  what: string,
): T {
  try {
    return unmarshal(codec, bytes);
  } catch (e) {
    throw new TpmVerifyError(code, `${what}: ${(e as Error).message}`, { cause: e });
  }
}

function publicOf(ak: VerifyQuoteOptions['akPublic']): TpmtPublic {
  if (ak instanceof Uint8Array) return parseAkPublic(ak).value;
  if ('bytes' in ak && 'value' in ak) return ak.value;
  return ak as TpmtPublic;
}

function keyOf(pub: TpmtPublic): KeyObject {
  try {
    return publicToKeyObject(pub);
  } catch (e) {
    throw new TpmVerifyError('PUBLIC_MALFORMED', `AK public area: ${(e as Error).message}`, { cause: e });
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Both sides are public or equal-length; timingSafeEqual still keeps the nonce comparison constant-time.
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function checkSignature(pub: TpmtPublic, key: KeyObject, attest: Uint8Array, sig: TpmtSignature): HashName {
  const rsaAlgs: number[] = [C.TPM_ALG_RSASSA, C.TPM_ALG_RSAPSS];
  const fits =
    pub.type === C.TPM_ALG_RSA
      ? rsaAlgs.includes(sig.sigAlg)
      : pub.type === C.TPM_ALG_ECC && sig.sigAlg === C.TPM_ALG_ECDSA;
  if (!fits)
    throw new TpmVerifyError(
      'SIGNATURE_SCHEME_UNSUPPORTED',
      `signature algorithm 0x${sig.sigAlg.toString(16).padStart(4, '0')} is not RSASSA/RSAPSS (RSA AK) or ECDSA (ECC AK)`,
    );
  const s = sig.signature as { hash: number };
  if (!SIGNATURE_HASHES.includes(s.hash))
    throw new TpmVerifyError(
      'SIGNATURE_SCHEME_UNSUPPORTED',
      `signature hash 0x${s.hash.toString(16).padStart(4, '0')} is not SHA-256, SHA-384 or SHA-512`,
    );
  const scheme = (pub.parameters as { scheme: { scheme: number; details?: { hashAlg: number } } }).scheme;
  if (scheme.scheme !== C.TPM_ALG_NULL && (scheme.scheme !== sig.sigAlg || scheme.details?.hashAlg !== s.hash))
    throw new TpmVerifyError(
      'SIGNATURE_SCHEME_UNSUPPORTED',
      `signature scheme 0x${sig.sigAlg.toString(16)}/0x${s.hash.toString(16)} differs from the AK's fixed scheme 0x${scheme.scheme.toString(16)}/0x${(scheme.details?.hashAlg ?? 0).toString(16)}`,
    );
  const hash = hashInfo(s.hash).name;
  let ok: boolean;
  try {
    if (sig.sigAlg === C.TPM_ALG_ECDSA) {
      const size = curveInfo((pub as { parameters: { curveID: number } }).parameters.curveID).size;
      const { signatureR: r, signatureS: sv } = sig.signature;
      if (r.length > size || sv.length > size) ok = false;
      else {
        const rs = new Uint8Array(2 * size);
        rs.set(r, size - r.length);
        rs.set(sv, 2 * size - sv.length);
        ok = cryptoVerify(hash, attest, { key, dsaEncoding: 'ieee-p1363' }, rs);
      }
    } else {
      const padding = sig.sigAlg === C.TPM_ALG_RSAPSS ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING;
      // TPMs use salt = hash length or the maximum; AUTO accepts either.
      ok = cryptoVerify(
        hash,
        attest,
        { key, padding, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        (sig.signature as { sig: Uint8Array }).sig,
      );
    }
  } catch {
    ok = false;
  }
  if (!ok) throw new TpmVerifyError('SIGNATURE_INVALID', 'quote signature does not verify under the AK');
  return hash;
}

// checkPcrValues already refused keys that are not integer indices, so each own key is one distinct PCR.
function suppliedCount(pcrs: PcrValues): number {
  let n = 0;
  for (const bank in pcrs) {
    if (!Object.hasOwn(pcrs, bank)) continue;
    const values = pcrs[bank as HashName];
    for (const k in values) if (Object.hasOwn(values, k)) n++;
  }
  return n;
}

// The error for a supplied PCR the quote does not cover (the first one found).
function notQuoted(pcrs: PcrValues, selection: readonly TpmsPcrSelection[]): TpmVerifyError {
  const quoted = new Map<string, Set<number>>();
  for (const sel of selection) {
    const indices = selectedPcrs(sel);
    if (indices.length > 0) quoted.set(bankName(sel.hash), new Set(indices));
  }
  for (const [bank, values] of Object.entries(pcrs))
    for (const k of Object.keys(values ?? {}))
      // A key spelling an index otherwise than the digest lookup does ("01") is a PCR the quote did not cover.
      if (!quoted.get(bank)?.has(Number(k)) || String(Number(k)) !== k)
        return new TpmVerifyError('PCR_NOT_QUOTED', `PCR ${bank}:${k} was supplied but is not in the quote`);
  // Unreachable when the counts differ; fail closed all the same.
  return new TpmVerifyError('PCR_NOT_QUOTED', 'more PCR values were supplied than the quote covers');
}

/**
 * Verifies a TPM2_Quote. Checks, in this fixed order, each failure its own TpmVerifyError code:
 *  1. the AK public area, attest, signature and PCR values decode (PUBLIC_MALFORMED, ATTEST_MALFORMED,
 *     SIGNATURE_MALFORMED, PCR_VALUES_MALFORMED);
 *  2. the signature scheme fits the AK (RSASSA/RSAPSS for RSA, ECDSA for ECC; SHA-256+; equal to the AK's
 *     scheme when it fixes one) (SIGNATURE_SCHEME_UNSUPPORTED);
 *  3. the signature verifies over the attest bytes (SIGNATURE_INVALID);
 *  4. magic is TPM_GENERATED_VALUE (ATTEST_MAGIC); 5. type is TPM_ST_ATTEST_QUOTE (ATTEST_TYPE);
 *  6. `nonce` is not empty and extraData equals it, compared in constant time (NONCE_MISMATCH);
 *  7. every quoted PCR has a supplied value (PCR_NOT_SUPPLIED); 8. every supplied PCR is quoted
 *     (PCR_NOT_QUOTED); 9. pcrDigest = H_sig(values concatenated in selection order) (PCR_DIGEST_MISMATCH);
 *  10. clockInfo.safe is YES (CLOCK_NOT_SAFE), unless `requireSafeClock` is false.
 * Does NOT check the AK's attributes (call verifyAkPolicy), that the AK belongs to a genuine TPM (credential
 * activation against a verified EK certificate), that the PCR values are acceptable (policy), or clock /
 * resetCount / restartCount progress between quotes. The caller still owes: a fresh single-use nonce, those
 * checks, and comparing the returned counters with earlier quotes of the same TPM if it cares about reboots.
 */
export function verifyQuote(options: VerifyQuoteOptions): VerifiedQuote {
  const pub = publicOf(options.akPublic);
  const key = keyOf(pub);
  const attest = decode<TpmsAttest>(TpmsAttest, options.attest, 'ATTEST_MALFORMED', 'TPMS_ATTEST');
  const sig = decode<TpmtSignature>(TpmtSignature, options.signature, 'SIGNATURE_MALFORMED', 'TPMT_SIGNATURE');
  checkPcrValues(options.pcrs);

  const hash = checkSignature(pub, key, options.attest, sig);

  if (attest.magic !== C.TPM_GENERATED_VALUE)
    throw new TpmVerifyError(
      'ATTEST_MAGIC',
      `attest magic 0x${attest.magic.toString(16)} is not TPM_GENERATED_VALUE 0xff544347`,
    );
  if (attest.type !== C.TPM_ST_ATTEST_QUOTE)
    throw new TpmVerifyError(
      'ATTEST_TYPE',
      `attest type 0x${(attest as { type: number }).type.toString(16)} is not TPM_ST_ATTEST_QUOTE 0x8018`,
    );
  // An empty nonce would let any quote made without qualifyingData through, replays included: fail closed.
  if (options.nonce.length === 0)
    throw new TpmVerifyError(
      'NONCE_MISMATCH',
      'the expected nonce is empty; a quote is only checked against a fresh nonce',
    );
  if (!sameBytes(attest.extraData, options.nonce))
    throw new TpmVerifyError('NONCE_MISMATCH', 'quote extraData does not equal the nonce');

  const quote = attest.attested;
  const seen = new Set<HashName>();
  let quotedCount = 0;
  for (const sel of quote.pcrSelect) {
    const indices = selectedPcrs(sel);
    // an empty bitmap quotes nothing from that bank, whatever its algorithm
    if (indices.length === 0) continue;
    let bank: HashName;
    try {
      bank = bankName(sel.hash);
    } catch (e) {
      throw new TpmVerifyError(
        'PCR_NOT_SUPPLIED',
        `quoted PCR bank 0x${sel.hash.toString(16).padStart(4, '0')} is not supported`,
        { cause: e },
      );
    }
    if (seen.has(bank)) throw new TpmVerifyError('ATTEST_MALFORMED', `TPMS_ATTEST: PCR bank ${bank} selected twice`);
    seen.add(bank);
    for (const index of indices) {
      const v = options.pcrs[bank]?.[index];
      if (!v) throw new TpmVerifyError('PCR_NOT_SUPPLIED', `PCR ${bank}:${index} is quoted but no value was supplied`);
    }
    quotedCount += indices.length;
  }
  // Every quoted PCR was supplied (distinct banks, distinct indices): as many supplied values as quoted ones
  // means none was supplied unquoted; otherwise name one that was.
  if (suppliedCount(options.pcrs) !== quotedCount) throw notQuoted(options.pcrs, quote.pcrSelect);
  // Every quoted PCR has a value (checked above), so the digest is defined.
  const expected = pcrCompositeDigest(hash, quote.pcrSelect, options.pcrs)!;
  if (!sameBytes(expected, quote.pcrDigest))
    throw new TpmVerifyError(
      'PCR_DIGEST_MISMATCH',
      `quoted PCR digest ${hex(quote.pcrDigest)} differs from ${hex(expected)}, the ${hash} of the supplied values`,
    );

  if (options.requireSafeClock !== false && !attest.clockInfo.safe)
    throw new TpmVerifyError('CLOCK_NOT_SAFE', 'quote clockInfo.safe is NO (the TPM clock may have gone backwards)');

  const ci: TpmsClockInfo = attest.clockInfo;
  return {
    attest: attest as TpmsAttestQuote,
    qualifiedSigner: attest.qualifiedSigner,
    clock: ci.clock,
    resetCount: ci.resetCount,
    restartCount: ci.restartCount,
    safe: ci.safe,
    firmwareVersion: attest.firmwareVersion,
    pcrSelection: quote.pcrSelect,
    pcrDigest: quote.pcrDigest,
    signatureAlg: sig.sigAlg,
    hash,
  };
}
