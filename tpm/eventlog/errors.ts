// The one error type of event-log checks. Each check has its own code; `kind` tells the RPC layer whether the
// log was malformed (InvalidArgument) or decoded but failed a check (PermissionDenied).

/** Logs or policies that cannot be decoded at all. */
export const EVENT_LOG_MALFORMED_CODES = [
  'EVENT_LOG_MALFORMED', // bytes do not decode as a TCG PC Client event log (truncated, bad sizes, bad header)
  'EVENT_LOG_TOO_LARGE', // over MAX_EVENT_LOG_BYTES, MAX_EVENTS or MAX_EVENT_DATA_BYTES
  'BOOT_POLICY_MALFORMED', // boot policy JSON is not a valid policy
] as const;

/** Logs that decode but fail a check. */
export const EVENT_LOG_REJECTED_CODES = [
  'EVENT_LOG_PCR_MISMATCH', // a supplied PCR's replay differs; names PCR, bank and the first unexplained event
  'EVENT_DATA_MISMATCH', // an event a fact is read from has data whose hash differs from its measured digest
  'BOOT_POLICY_REFUSED', // the facts break a boot policy rule; names the rule
] as const;

export type EventLogErrorCode = (typeof EVENT_LOG_MALFORMED_CODES)[number] | (typeof EVENT_LOG_REJECTED_CODES)[number];

/** Details a caller may log or test on; all optional, set by the check that failed. */
export interface EventLogErrorDetail {
  /** Index of the event in the log (0 = first record, the Spec ID header in a crypto-agile log). */
  eventIndex?: number;
  pcr?: number;
  bank?: string;
  /** Boot policy rule name (e.g. `require_secure_boot`, `allowed_boot_apps`). */
  rule?: string;
}

/** A failed event-log check. Match on `code`, never on the message; the message names PCR, bank, event or rule. */
export class EventLogError extends Error {
  override readonly name = 'EventLogError';
  readonly kind: 'malformed' | 'rejected';
  constructor(
    readonly code: EventLogErrorCode,
    message: string,
    readonly detail: EventLogErrorDetail = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.kind = (EVENT_LOG_MALFORMED_CODES as readonly string[]).includes(code) ? 'malformed' : 'rejected';
  }
}
