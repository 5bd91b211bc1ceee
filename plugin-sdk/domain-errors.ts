// The one place where the project's domain errors become PluginErrors, by one code table. plugin-sdk imports
// none of those errors (arrows point down): each carries a `failureClass` that says which row of the table it
// is, and this file reads that property structurally. The errors in tpm/, verifier-client/ and proto/
// declare it; test/unit/plugin-sdk/domain-errors.test.ts checks each one is a ClassifiedError.
import { Code, PluginError } from './plugin-error';

/** Which row of the code table a domain error is. */
export type FailureClass =
  /** Input that does not parse or breaks the protocol: InvalidArgument. */
  | 'malformed'
  /** A failed proof (signature, nonce, PCR, EK chain, activation, verifier verdict): PermissionDenied. */
  | 'denied'
  /** The TPM answered with an error code: FailedPrecondition, "TPM <tpm> refused <message>". */
  | 'tpm_refused'
  /** The TPM's answer did not decode: Unavailable, "TPM <tpm> sent a malformed response: <message>". */
  | 'tpm_bad_response'
  /** The TPM or the verifier could not be reached or gave no verdict: Unavailable. */
  | 'unavailable'
  /** A local resource the operator must fix first (a directory not writable, read-only): FailedPrecondition. */
  | 'precondition'
  /** A disk full or a quota reached: ResourceExhausted. */
  | 'exhausted';

/** The one code table. */
const CODES: Readonly<Record<FailureClass, Code>> = {
  malformed: Code.INVALID_ARGUMENT,
  denied: Code.PERMISSION_DENIED,
  tpm_refused: Code.FAILED_PRECONDITION,
  tpm_bad_response: Code.UNAVAILABLE,
  unavailable: Code.UNAVAILABLE,
  precondition: Code.FAILED_PRECONDITION,
  exhausted: Code.RESOURCE_EXHAUSTED,
};

/** A domain error this mapper understands: an Error with a failure class (and, optionally, a fuller detail). */
export interface ClassifiedError extends Error {
  readonly failureClass: FailureClass;
  /** What to say instead of `message` (e.g. with the check's code appended); default: `message`. */
  readonly failureDetail?: string;
}

/** What the caller knows that the error does not. */
export interface DomainErrorContext {
  /** The TPM's transport spec, named in TPM failures ("TPM <tpm> refused ..."). */
  tpm?: string;
  /** Builds the message from the chosen code and the error's own detail; default: the detail alone. */
  message?: (code: Code, detail: string) => string;
}

/** The error as a ClassifiedError when it carries a known failure class; a property alone is not trusted. */
function classified(err: unknown): ClassifiedError | undefined {
  if (!(err instanceof Error)) return undefined;
  const c = (err as Partial<ClassifiedError>).failureClass;
  return typeof c === 'string' && Object.prototype.hasOwnProperty.call(CODES, c) ? (err as ClassifiedError) : undefined;
}

/** The gRPC code and the detail (what the error itself says, made to read in a message) of a thrown value. */
function classify(err: unknown, tpm: string): { code: Code; detail: string } {
  const e = classified(err);
  if (e) {
    const said = e.failureDetail ?? e.message;
    const detail =
      e.failureClass === 'tpm_refused'
        ? `TPM ${tpm} refused ${said}`
        : e.failureClass === 'tpm_bad_response'
          ? `TPM ${tpm} sent a malformed response: ${said}`
          : said;
    return { code: CODES[e.failureClass], detail };
  }
  if ((err as Error)?.name === 'AbortError') return { code: Code.UNAVAILABLE, detail: 'cancelled' };
  return { code: Code.INTERNAL, detail: (err as Error)?.message ?? String(err) };
}

/**
 * Converts anything thrown into the PluginError SPIRE sees, keeping the error as `cause`. A PluginError is
 * returned as it is. A ClassifiedError gets the code of its failure class (the table above) and its detail;
 * an abort is Unavailable ("cancelled"); anything else is our own bug, Internal. The caller decides the
 * wording around the detail (`context.message`), never the code.
 */
export function toPluginError(err: unknown, context: DomainErrorContext = {}): PluginError {
  if (err instanceof PluginError) return err;
  const { code, detail } = classify(err, context.tpm ?? '');
  return new PluginError(code, context.message ? context.message(code, detail) : detail, { cause: err });
}
