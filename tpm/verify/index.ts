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
  type EkCertificate,
  type VerifiedEkCertificate,
  type VerifyEkCertificateOptions,
} from './ek-cert';
export { checkPcrValues, bankName } from './pcr-values';
