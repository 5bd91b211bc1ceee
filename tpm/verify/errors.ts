// The one error type of server-side TPM evidence checks. Each check has its own code; the RPC layer maps
// `kind` to a gRPC status (malformed -> InvalidArgument, rejected -> PermissionDenied) in one place.

/** Evidence that cannot be decoded at all. */
export const MALFORMED_CODES = [
  'ATTEST_MALFORMED', // TPMS_ATTEST bytes do not decode (truncated, oversized, trailing bytes)
  'SIGNATURE_MALFORMED', // TPMT_SIGNATURE bytes do not decode
  'PUBLIC_MALFORMED', // TPMT_PUBLIC / TPM2B_PUBLIC bytes do not decode or hold an unusable key
  'PCR_VALUES_MALFORMED', // a supplied PCR value has the wrong length for its bank, or an index > 23
  'EK_CERT_MALFORMED', // EK certificate DER does not parse
  'KEYLIME_QUOTE_MALFORMED', // Keylime quote string or pcrblob does not parse
] as const;

/** Evidence that decodes but fails a check. */
export const REJECTED_CODES = [
  // verifyQuote, in the order the checks run:
  'SIGNATURE_SCHEME_UNSUPPORTED', // signature algorithm not RSASSA/RSAPSS/ECDSA, or not what the AK allows
  'SIGNATURE_INVALID', // signature does not verify under the AK
  'ATTEST_MAGIC', // magic is not TPM_GENERATED_VALUE
  'ATTEST_TYPE', // type is not TPM_ST_ATTEST_QUOTE
  'NONCE_MISMATCH', // extraData differs from the expected nonce
  'PCR_NOT_SUPPLIED', // a quoted PCR has no supplied value
  'PCR_NOT_QUOTED', // a supplied PCR is not in the quote's selection
  'PCR_DIGEST_MISMATCH', // pcrDigest differs from the digest of the supplied values
  'CLOCK_NOT_SAFE', // clockInfo.safe is NO
  // verifyAkPolicy, in the order the checks run:
  'AK_NOT_FIXED_TPM', // fixedTPM clear: the key may be duplicated off this TPM
  'AK_NOT_FIXED_PARENT', // fixedParent clear
  'AK_NOT_SENSITIVE_DATA_ORIGIN', // sensitiveDataOrigin clear: the private key was imported, not TPM-made
  'AK_NOT_RESTRICTED', // restricted clear: it could sign forged TPMS_ATTEST
  'AK_NOT_SIGNING', // sign clear
  'AK_DECRYPT', // decrypt set: not a pure signing key
  'AK_KEY_WEAK', // not RSA >= 2048 or a NIST curve >= P-256
  'AK_SCHEME_WEAK', // a fixed signing scheme other than RSASSA/RSAPSS/ECDSA over SHA-256/384/512
  'AK_NAME_ALG_WEAK', // nameAlg not SHA-256 or stronger
  // verifyEkCertificate; first the EK certificate profile (verifyEkCertificateProfile), in order:
  'EK_CERT_CRITICAL_EXTENSION', // a critical extension this code does not process (the leaf or an intermediate)
  'EK_CERT_IS_CA', // the EK certificate is a CA (basicConstraints cA) or allows keyCertSign
  'EK_CERT_KEY_USAGE', // keyUsage lacks keyEncipherment (RSA EK) or keyAgreement (EC EK)
  'EK_CERT_EKU', // extKeyUsage lacks 2.23.133.8.1 (or is absent when required)
  'EK_CERT_KEY_WEAK', // a key on the path is not RSA >= 2048 or EC P-256/384/521
  'EK_CERT_SIGNATURE_ALGORITHM', // signed with an algorithm off the allow-list (MD5; SHA-1 unless allowed)
  // then the path:
  'EK_CERT_UNTRUSTED', // no path to a certificate of the CA bundle
  'EK_CERT_EXPIRED', // outside its validity period (leaf or a CA on the path)
  'EK_CERT_NOT_CA', // a certificate on the path is not a CA (basic constraints)
  'EK_CERT_PATH_LENGTH', // a CA on the path has more CAs below it than its pathLenConstraint allows
] as const;

export type TpmVerifyErrorCode = (typeof MALFORMED_CODES)[number] | (typeof REJECTED_CODES)[number];

/**
 * A failed TPM evidence check. `code` says which check; `kind` whether the evidence was malformed or
 * rejected. Match on `code`, never on the message; the message names the PCR, field or certificate.
 */
export class TpmVerifyError extends Error {
  override readonly name = 'TpmVerifyError';
  readonly kind: 'malformed' | 'rejected';
  constructor(
    readonly code: TpmVerifyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.kind = (MALFORMED_CODES as readonly string[]).includes(code) ? 'malformed' : 'rejected';
  }

  /** For plugin-sdk's error mapper (read structurally): malformed InvalidArgument, rejected PermissionDenied. */
  get failureClass(): 'malformed' | 'denied' {
    return this.kind === 'malformed' ? 'malformed' : 'denied';
  }

  /** The message, with the check's code after a rejection (what the plugin error says). */
  get failureDetail(): string {
    return this.kind === 'malformed' ? this.message : `${this.message} (${this.code})`;
  }
}
