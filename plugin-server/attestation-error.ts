// How an attestation is refused: the checks in their documented order, and the one error type carrying the
// gRPC code, the reason (check name or malformed, for logs and metrics) and the EK hash when known.
import { Code, PluginError, toPluginError } from '../plugin-sdk';

/** The checks, in the order they run; the names appear in errors, logs and metric labels. */
export const CHECKS = [
  'ek_trust',
  'ak_attributes',
  'credential_activation',
  'quote',
  'event_log',
  'boot_policy',
  'pcr_policy',
] as const;
export type CheckName = (typeof CHECKS)[number];

/** Why an attestation failed: a check (PermissionDenied) or malformed input (InvalidArgument). */
export type FailureReason =
  CheckName | 'malformed' | 'verifier_unavailable' | 'challenge_timeout' | 'cancelled' | 'not_configured' | 'internal';

const CHECK_TITLES: Record<CheckName, string> = {
  ek_trust: 'EK trust',
  ak_attributes: 'AK attributes',
  credential_activation: 'credential activation',
  quote: 'quote',
  event_log: 'event log',
  boot_policy: 'boot policy',
  pcr_policy: 'PCR policy',
};

/**
 * A refused attestation: the gRPC code, the reason (for logs and metrics), the EK hash when known, the full
 * detail (`message`, for the server's log) and `publicMessage`, the text SPIRE relays to the unauthenticated
 * caller: the failed check and what about the caller's own evidence failed, never an allowed value, a file
 * path or a URL of the server's.
 */
export class AttestationError extends PluginError {
  readonly reason: FailureReason;
  readonly publicMessage: string;
  ekHash?: string;
  constructor(
    code: Code,
    reason: FailureReason,
    message: string,
    options?: { cause?: unknown; ekHash?: string; publicMessage?: string },
  ) {
    super(code, message, { cause: options?.cause });
    this.reason = reason;
    this.ekHash = options?.ekHash;
    this.publicMessage = options?.publicMessage ?? message;
  }
}

/**
 * A failed check: PermissionDenied, "<Check> check failed: <detail>"; the caller is told `publicDetail`
 * instead when the detail names server-side material (allowed values, paths, URLs).
 */
export function refused(check: CheckName, detail: string, publicDetail?: string, cause?: unknown): AttestationError {
  const title = `${CHECK_TITLES[check]} check failed: `;
  return new AttestationError(Code.PERMISSION_DENIED, check, title + detail, {
    cause,
    publicMessage: title + (publicDetail ?? detail),
  });
}

/**
 * A verifier that could not judge the evidence of `check`: Unavailable, reason `verifier_unavailable`,
 * "<Check> verifier unavailable: <detail>"; the caller is told `publicDetail`.
 */
export function verifierUnavailable(
  check: CheckName,
  detail: string,
  publicDetail: string,
  cause?: unknown,
): AttestationError {
  const title = `${CHECK_TITLES[check]} verifier unavailable: `;
  return new AttestationError(Code.UNAVAILABLE, 'verifier_unavailable', title + detail, {
    cause,
    publicMessage: title + publicDetail,
  });
}

/** Malformed input: InvalidArgument, "malformed <what>: <detail>". */
export function malformed(what: string, detail: string, cause?: unknown): AttestationError {
  return new AttestationError(Code.INVALID_ARGUMENT, 'malformed', `malformed ${what}: ${detail}`, { cause });
}

/** How a domain error met during one check is worded; the code is never the caller's choice. */
export interface RefusalOptions {
  /** The check under way: names a PermissionDenied ("<check> check failed: ...") and an Unavailable verifier. */
  check?: CheckName;
  /** The input being read, for InvalidArgument ("malformed <what>: ..."); a ProtocolError names its own field. */
  what?: string;
  /** Rewords the error's detail, e.g. to add the policy file to a PCR policy denial. */
  detail?: (detail: string, code: Code) => string;
  /**
   * The caller's version of a PermissionDenied or InvalidArgument detail, when the error's own text names
   * server-side material. Default: the detail itself (the caller's own evidence). An Unavailable verifier's
   * detail (its URL, the network error) is never sent.
   */
  publicDetail?: (err: unknown, code: Code) => string;
}

/**
 * A domain error (TPM verification, TPM crypto, protocol, verifier) as the AttestationError to throw; the
 * code comes from plugin-sdk's toPluginError, the reason from the code: InvalidArgument `malformed`,
 * PermissionDenied the check, Unavailable `verifier_unavailable`. An error that maps to Internal (our own
 * bug), or to a denial outside a check, is rethrown as it is.
 */
export function refusal(err: unknown, options: RefusalOptions): AttestationError {
  if (err instanceof AttestationError) return err;
  const { check, what } = options;
  const title = check === undefined ? '' : CHECK_TITLES[check];
  const word = (code: Code, detail: string | undefined): string => {
    if (code === Code.INVALID_ARGUMENT) return `malformed ${what === undefined ? '' : `${what}: `}${detail}`;
    if (code === Code.PERMISSION_DENIED) return `${title} check failed: ${detail}`;
    return `${title} verifier unavailable${detail === undefined ? '' : `: ${detail}`}`;
  };
  let publicMessage = '';
  const mapped = toPluginError(err, {
    message(code, raw) {
      const shown = code === Code.UNAVAILABLE ? undefined : (options.publicDetail?.(err, code) ?? raw);
      publicMessage = word(code, shown);
      return word(code, options.detail ? options.detail(raw, code) : raw);
    },
  });
  const reason: FailureReason | undefined =
    mapped.code === Code.INVALID_ARGUMENT
      ? 'malformed'
      : check === undefined
        ? undefined
        : mapped.code === Code.PERMISSION_DENIED
          ? check
          : mapped.code === Code.UNAVAILABLE
            ? 'verifier_unavailable'
            : undefined;
  if (reason === undefined) throw err;
  return new AttestationError(mapped.code, reason, mapped.message, { cause: err, publicMessage });
}

/**
 * The error SPIRE relays to the caller for an attestation error: an AttestationError's publicMessage, a
 * not-configured error as it is, anything else (our own bug) Internal without its text.
 */
export function forCaller(err: unknown): PluginError {
  if (err instanceof AttestationError) return new PluginError(err.code, err.publicMessage);
  if (err instanceof PluginError && err.code === Code.FAILED_PRECONDITION) return err;
  return new PluginError(Code.INTERNAL, 'internal error in the tpm_quote server plugin (detail in the server log)');
}

/** Runs a proto/tpmquote/protocol.ts check; a ProtocolError is malformed input naming the field. */
export function protocol<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw refusal(err, {});
  }
}
