// The attestation-key policy a server applies before trusting anything the key signs (the checks
// go-attestation makes; TPMA_OBJECT is TPM 2.0 Part 2, 8.3).
import * as C from '../marshal/constants';
import { parseTpm2bPublic, PublicArea, publicToKeyObject } from '../crypto/public-key';
import type { TpmtPublic } from '../crypto/public-codec';
import { TpmVerifyError, TpmVerifyErrorCode } from './errors';

const REQUIRED: ReadonlyArray<[number, TpmVerifyErrorCode, string]> = [
  [C.TPMA_OBJECT_fixedTPM, 'AK_NOT_FIXED_TPM', 'fixedTPM'],
  [C.TPMA_OBJECT_fixedParent, 'AK_NOT_FIXED_PARENT', 'fixedParent'],
  [C.TPMA_OBJECT_sensitiveDataOrigin, 'AK_NOT_SENSITIVE_DATA_ORIGIN', 'sensitiveDataOrigin'],
  [C.TPMA_OBJECT_restricted, 'AK_NOT_RESTRICTED', 'restricted'],
  [C.TPMA_OBJECT_sign, 'AK_NOT_SIGNING', 'sign'],
];
const STRONG_NAME_ALGS = [C.TPM_ALG_SHA256, C.TPM_ALG_SHA384, C.TPM_ALG_SHA512];
const STRONG_CURVES = [C.TPM_ECC_NIST_P256, C.TPM_ECC_NIST_P384, C.TPM_ECC_NIST_P521];
// The signing schemes and hashes verifyQuote accepts: an AK fixing anything else could never sign a quote
// that passes, so it is refused before a challenge is spent on it.
const SIGNING_SCHEMES: Record<number, readonly number[]> = {
  [C.TPM_ALG_RSA]: [C.TPM_ALG_RSASSA, C.TPM_ALG_RSAPSS],
  [C.TPM_ALG_ECC]: [C.TPM_ALG_ECDSA],
};
const SIGNATURE_HASHES = [C.TPM_ALG_SHA256, C.TPM_ALG_SHA384, C.TPM_ALG_SHA512];
const hex4 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`;

// The AK's fixed signing scheme, when it fixes one (TPM_ALG_NULL leaves it to the quote, checked there).
function checkScheme(pub: TpmtPublic): void {
  const scheme = (pub.parameters as { scheme: { scheme: number; details?: { hashAlg: number } } }).scheme;
  if (scheme.scheme === C.TPM_ALG_NULL) return;
  if (!SIGNING_SCHEMES[pub.type]?.includes(scheme.scheme))
    throw new TpmVerifyError(
      'AK_SCHEME_WEAK',
      `AK signing scheme ${hex4(scheme.scheme)} is not ${pub.type === C.TPM_ALG_RSA ? 'RSASSA or RSAPSS (an RSA key)' : 'ECDSA (an ECC key)'}`,
    );
  const hash = scheme.details?.hashAlg ?? 0;
  if (!SIGNATURE_HASHES.includes(hash))
    throw new TpmVerifyError(
      'AK_SCHEME_WEAK',
      `AK signing scheme hash ${hex4(hash)} is not SHA-256, SHA-384 or SHA-512`,
    );
}

/** Decodes a TPM2B_PUBLIC as evidence: PUBLIC_MALFORMED instead of a marshal error. */
export function parseAkPublic(bytes: Uint8Array): PublicArea {
  try {
    return parseTpm2bPublic(bytes);
  } catch (e) {
    throw new TpmVerifyError('PUBLIC_MALFORMED', `AK public area: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Checks an AK public area (TPM2B_PUBLIC bytes or decoded) is a TPM-made, non-duplicable restricted signing
 * key. In order: fixedTPM, fixedParent, sensitiveDataOrigin, restricted, sign set (each its own code);
 * decrypt clear (AK_DECRYPT); RSA with at least 2048 bits or ECC on NIST P-256/P-384/P-521 (AK_KEY_WEAK);
 * a fixed signing scheme is RSASSA/RSAPSS (RSA) or ECDSA (ECC) over SHA-256/384/512, as verifyQuote accepts
 * (AK_SCHEME_WEAK; TPM_ALG_NULL leaves the choice to the quote); the key is usable: the RSA modulus has
 * keyBits, the ECC point is on its curve (PUBLIC_MALFORMED); nameAlg SHA-256/384/512 (AK_NAME_ALG_WEAK).
 * Returns the decoded area.
 * Does NOT prove the key lives in a TPM: attributes are self-declared until credential activation against a
 * verified EK binds this Name to that TPM. The caller still owes that activation, and must use the same
 * public area (same Name) for activation and quote verification.
 */
export function verifyAkPolicy(akPublic: Uint8Array | TpmtPublic): TpmtPublic {
  const pub = akPublic instanceof Uint8Array ? parseAkPublic(akPublic).value : akPublic;
  const attrs = pub.objectAttributes >>> 0;
  for (const [bit, code, name] of REQUIRED)
    if ((attrs & bit) === 0)
      throw new TpmVerifyError(code, `AK attribute ${name} is not set (objectAttributes 0x${attrs.toString(16)})`);
  if (attrs & C.TPMA_OBJECT_decrypt)
    throw new TpmVerifyError('AK_DECRYPT', `AK attribute decrypt is set (objectAttributes 0x${attrs.toString(16)})`);
  if (pub.type === C.TPM_ALG_RSA) {
    if (pub.parameters.keyBits < 2048)
      throw new TpmVerifyError('AK_KEY_WEAK', `AK is RSA-${pub.parameters.keyBits}; at least 2048 bits required`);
  } else if (pub.type === C.TPM_ALG_ECC) {
    if (!STRONG_CURVES.includes(pub.parameters.curveID))
      throw new TpmVerifyError(
        'AK_KEY_WEAK',
        `AK curve 0x${pub.parameters.curveID.toString(16).padStart(4, '0')} is not NIST P-256, P-384 or P-521`,
      );
  } else {
    throw new TpmVerifyError(
      'AK_KEY_WEAK',
      `AK type 0x${(pub as { type: number }).type.toString(16)} is not RSA or ECC`,
    );
  }
  checkScheme(pub);
  // The key itself: an RSA modulus of keyBits, an ECC point on its curve (a point off the curve would get
  // a challenge and fail only at activation).
  try {
    publicToKeyObject(pub);
  } catch (e) {
    throw new TpmVerifyError('PUBLIC_MALFORMED', `AK public key: ${(e as Error).message}`, { cause: e });
  }
  if (!STRONG_NAME_ALGS.includes(pub.nameAlg))
    throw new TpmVerifyError(
      'AK_NAME_ALG_WEAK',
      `AK nameAlg 0x${pub.nameAlg.toString(16).padStart(4, '0')} is not SHA-256, SHA-384 or SHA-512`,
    );
  return pub;
}
