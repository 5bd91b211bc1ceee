// The one place where the project's domain errors become PluginErrors, by one code table: malformed input
// InvalidArgument, a failed proof PermissionDenied, a TPM refusal FailedPrecondition, an unreachable TPM or
// verifier Unavailable, anything else our own bug (Internal).
import { ProtocolError } from "../proto/tpmquote/protocol";
import { TpmCryptoError } from "../tpm/crypto/errors";
import { TpmError, TpmResponseError, TpmUnavailableError } from "../tpm/errors";
import { TpmVerifyError } from "../tpm/verify/errors";
import { VerifierError } from "../verifier-client/errors";
import { Code, PluginError } from "./plugin-error";

/** What the caller knows that the error does not. */
export interface DomainErrorContext {
  /** The TPM's transport spec, named in TPM failures ("TPM <tpm> refused ..."). */
  tpm?: string;
  /** Builds the message from the chosen code and the error's own detail; default: the detail alone. */
  message?: (code: Code, detail: string) => string;
}

const VERIFIER_CODES: Record<VerifierError["code"], Code> = {
  permission_denied: Code.PERMISSION_DENIED,
  invalid_argument: Code.INVALID_ARGUMENT,
  unavailable: Code.UNAVAILABLE,
};

/** The gRPC code and the detail (what the error itself says, made to read in a message) of a thrown value. */
function classify(err: unknown, tpm: string): { code: Code; detail: string } {
  if (err instanceof ProtocolError) return { code: Code.INVALID_ARGUMENT, detail: err.message };
  if (err instanceof TpmVerifyError) {
    return err.kind === "malformed" ? { code: Code.INVALID_ARGUMENT, detail: err.message } : { code: Code.PERMISSION_DENIED, detail: `${err.message} (${err.code})` };
  }
  if (err instanceof TpmCryptoError) return { code: Code.INVALID_ARGUMENT, detail: err.message };
  if (err instanceof VerifierError) return { code: VERIFIER_CODES[err.code], detail: err.message };
  if (err instanceof TpmUnavailableError) return { code: Code.UNAVAILABLE, detail: err.message };
  if (err instanceof TpmError) return { code: Code.FAILED_PRECONDITION, detail: `TPM ${tpm} refused ${err.message}` };
  if (err instanceof TpmResponseError) return { code: Code.UNAVAILABLE, detail: `TPM ${tpm} sent a malformed response: ${err.message}` };
  if ((err as Error)?.name === "AbortError") return { code: Code.UNAVAILABLE, detail: "cancelled" };
  return { code: Code.INTERNAL, detail: (err as Error)?.message ?? String(err) };
}

/**
 * Converts anything thrown into the PluginError SPIRE sees, keeping the error as `cause`. A PluginError is
 * returned as it is. The code follows the table above: ProtocolError, a malformed TpmVerifyError and
 * TpmCryptoError InvalidArgument; a rejected TpmVerifyError PermissionDenied (its code appended to the
 * message); VerifierError by its code; TpmUnavailableError, TpmResponseError and an abort Unavailable;
 * TpmError FailedPrecondition; anything else Internal. The caller decides the wording around the detail
 * (`context.message`), never the code.
 */
export function toPluginError(err: unknown, context: DomainErrorContext = {}): PluginError {
  if (err instanceof PluginError) return err;
  const { code, detail } = classify(err, context.tpm ?? "");
  return new PluginError(code, context.message ? context.message(code, detail) : detail, { cause: err });
}
