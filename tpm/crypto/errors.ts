// Errors of the server-side TPM crypto helpers (no TPM involved).

/** Why a pure TPM crypto operation refused its input. */
export type TpmCryptoErrorCode =
  | 'UNSUPPORTED_ALGORITHM' // an algorithm ID or parameter this code does not implement
  | 'INVALID_KEY' // key material that is not a usable key (bad point, bad modulus, wrong type)
  | 'INVALID_ARGUMENT'; // a caller-supplied value out of range (sizes, lengths)

/**
 * Thrown by tpm/crypto for inputs it cannot process. Always a caller or evidence problem, never a
 * verdict: verification verdicts are `TpmVerifyError`s.
 */
export class TpmCryptoError extends Error {
  override readonly name = 'TpmCryptoError';
  /** For plugin-sdk's error mapper (read structurally): input it cannot process is malformed input. */
  readonly failureClass = 'malformed';
  constructor(
    readonly code: TpmCryptoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
