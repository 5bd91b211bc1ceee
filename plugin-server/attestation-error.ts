// How an attestation is refused: the checks in their documented order, and the one error type carrying the
// gRPC code, the reason (check name or malformed, for logs and metrics) and the EK hash when known.
import { Code, PluginError } from "../plugin-sdk";
import { ProtocolError } from "../proto/tpmquote/protocol";
import { TpmCryptoError } from "../tpm/crypto/errors";
import { TpmVerifyError } from "../tpm/verify/errors";

/** The checks, in the order they run; the names appear in errors, logs and metric labels. */
export const CHECKS = ["ek_trust", "ak_attributes", "credential_activation", "quote", "pcr_policy"] as const;
export type CheckName = (typeof CHECKS)[number];

/** Why an attestation failed: a check (PermissionDenied) or malformed input (InvalidArgument). */
export type FailureReason = CheckName | "malformed" | "verifier_unavailable" | "not_configured" | "internal";

const CHECK_TITLES: Record<CheckName, string> = {
  ek_trust: "EK trust",
  ak_attributes: "AK attributes",
  credential_activation: "credential activation",
  quote: "quote",
  pcr_policy: "PCR policy",
};

/** A refused attestation: the gRPC code, the reason (for logs and metrics) and the EK hash when known. */
export class AttestationError extends PluginError {
  readonly reason: FailureReason;
  ekHash?: string;
  constructor(code: Code, reason: FailureReason, message: string, options?: { cause?: unknown; ekHash?: string }) {
    super(code, message, { cause: options?.cause });
    this.reason = reason;
    this.ekHash = options?.ekHash;
  }
}

export function refused(check: CheckName, detail: string, cause?: unknown): AttestationError {
  return new AttestationError(Code.PERMISSION_DENIED, check, `${CHECK_TITLES[check]} check failed: ${detail}`, { cause });
}

export function malformed(what: string, detail: string, cause?: unknown): AttestationError {
  return new AttestationError(Code.INVALID_ARGUMENT, "malformed", `malformed ${what}: ${detail}`, { cause });
}

/** A TpmVerifyError as an attestation error: malformed evidence InvalidArgument, a failed check PermissionDenied. */
export function fromVerifyError(check: CheckName, what: string, err: unknown): AttestationError {
  if (err instanceof TpmVerifyError) {
    return err.kind === "malformed" ? malformed(what, err.message, err) : refused(check, `${err.message} (${err.code})`, err);
  }
  if (err instanceof TpmCryptoError) return malformed(what, err.message, err);
  throw err;
}

/** Runs a proto/tpmquote/protocol.ts check; a ProtocolError is malformed input naming the field. */
export function protocol<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ProtocolError) throw malformed(err.field, err.detail, err);
    throw err;
  }
}

