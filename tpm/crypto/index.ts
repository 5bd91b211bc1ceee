// Server-side TPM crypto without a TPM: Names, public-key conversion, KDFs, MakeCredential.
export { TpmCryptoError, type TpmCryptoErrorCode } from './errors';
export {
  DIGEST_SIZES,
  HASH_NAMES,
  hashInfo,
  hashAlgId,
  hashSize,
  type HashInfo,
  isHashName,
  type HashName,
  type TpmiAlgHash,
} from './hash';
export { kdfa, kdfe } from './kdf';
export { randomBytesFresh } from './random';
export {
  curveInfo,
  encodeTpm2bPublic,
  parseTpm2bPublic,
  parseTpmtPublic,
  publicFromKeyObject,
  publicToKeyObject,
  publicToPkixDer,
  ekHashOfPkixDer,
  KEY_CACHE_ENTRIES,
  qualifiedName,
  qualifiedNameUnderEk,
  endorsementQualifiedName,
  tpmName,
  type PublicArea,
} from './public-key';
export { makeCredential, type MadeCredential, type MakeCredentialOptions } from './make-credential';
export { pcrCompositeDigest } from './pcr-digest';
