// Pure verification of TPM evidence: quotes, AK attributes, EK certificates. Bytes in, result objects out.
export { TpmVerifyError, MALFORMED_CODES, REJECTED_CODES, type TpmVerifyErrorCode } from './errors';
export { verifyQuote, type VerifyQuoteOptions, type VerifiedQuote } from './quote';
export { verifyAkPolicy, parseAkPublic } from './ak-policy';
export {
  parseEkCertificate,
  parsePemCertificates,
  verifyEkCertificate,
  MAX_CHAIN_DEPTH,
  MAX_EK_CERT_BYTES,
  MAX_PATH_SIGNATURE_CHECKS,
  type EkCertificate,
  type VerifiedEkCertificate,
  type VerifyEkCertificateOptions,
} from './ek-cert';
export { checkPcrValues, bankName } from './pcr-values';
export { verifyEkCertificateProfile, MIN_RSA_BITS, OID_EK_CERTIFICATE_EKU, type EkProfileOptions } from './ek-profile';
export {
  createEkCertificateCache,
  EK_CERT_CACHE_ENTRIES,
  type CachedVerifyOptions,
  type EkCertificateCache,
  type EkCertificateCacheOptions,
  type ParsedEkCertificate,
} from './ek-cert-cache';
