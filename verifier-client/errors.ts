// The one error type a verifier throws. The server plugin maps `code` to a gRPC status at its RPC boundary.

/** What kind of refusal a verifier error is; the plugin maps these to gRPC codes. */
export type VerifierErrorCode =
  /** The evidence was checked and failed (gRPC PermissionDenied). */
  | 'permission_denied'
  /** The evidence or request was malformed (gRPC InvalidArgument). */
  | 'invalid_argument'
  /** No usable verdict: verifier refused the connection, timed out, failed TLS, or answered 5xx (gRPC Unavailable). */
  | 'unavailable';

const FAILURE_CLASSES = {
  permission_denied: 'denied',
  invalid_argument: 'malformed',
  unavailable: 'unavailable',
} as const;

/** One failure reported by a verifier, e.g. Keylime's `{"type": "pcr_validation.invalid_pcr_0", "context": {...}}`. */
export interface VerifierFailure {
  type: string;
  context: unknown;
}

export interface VerifierErrorOptions {
  /** The verifier endpoint this error is about, when there is one. */
  url?: string;
  /** HTTP status of the verifier's answer, when it answered. */
  httpStatus?: number;
  /** Failures the verifier listed (permission_denied and invalid_argument). */
  failures?: readonly VerifierFailure[];
  cause?: unknown;
}

/** A verifier refused or could not judge the evidence. A verifier never accepts on error: it throws this. */
export class VerifierError extends Error {
  override readonly name = 'VerifierError';
  readonly url?: string;
  readonly httpStatus?: number;
  readonly failures: readonly VerifierFailure[];

  constructor(
    readonly code: VerifierErrorCode,
    message: string,
    options: VerifierErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.url = options.url;
    this.httpStatus = options.httpStatus;
    this.failures = options.failures ?? [];
  }

  /** For plugin-sdk's error mapper (read structurally): the code's row of the code table. */
  get failureClass(): 'denied' | 'malformed' | 'unavailable' {
    return FAILURE_CLASSES[this.code];
  }
}
