// The attestation-key policy a server applies before trusting anything the key signs (the checks
// go-attestation makes; TPMA_OBJECT is TPM 2.0 Part 2, 8.3).
import * as C from '../marshal/constants';
import { parseTpm2bPublic, PublicArea } from '../crypto/public-key';
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
 * nameAlg SHA-256/384/512 (AK_NAME_ALG_WEAK). Returns the decoded area.
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
  if (!STRONG_NAME_ALGS.includes(pub.nameAlg))
    throw new TpmVerifyError(
      'AK_NAME_ALG_WEAK',
      `AK nameAlg 0x${pub.nameAlg.toString(16).padStart(4, '0')} is not SHA-256, SHA-384 or SHA-512`,
    );
  return pub;
}
