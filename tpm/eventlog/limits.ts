// Bounds on untrusted event logs, checked before anything is allocated. Real logs are 10-200 KiB with
// 50-1500 events; the largest single event in them is a dbx variable of some tens of KiB.

/** Largest log accepted, in bytes (EVENT_LOG_TOO_LARGE above it). */
export const MAX_EVENT_LOG_BYTES = 1024 * 1024;
/** Most events accepted in one log, the Spec ID header included. */
export const MAX_EVENTS = 8192;
/** Largest data of a single event, in bytes. */
export const MAX_EVENT_DATA_BYTES = 256 * 1024;
/** Most hash algorithms a Spec ID event may declare (and digests one event may carry). */
export const MAX_BANKS = 8;

/** The bounds table of docs/event-log.md (generated; a test keeps the doc current). */
export function renderEventLogLimits(): string {
  const rows: [string, number, string][] = [
    ['MAX_EVENT_LOG_BYTES', MAX_EVENT_LOG_BYTES, 'bytes of the whole log (checked first)'],
    ['MAX_EVENTS', MAX_EVENTS, 'records, the Spec ID header included'],
    [
      'MAX_EVENT_DATA_BYTES',
      MAX_EVENT_DATA_BYTES,
      "bytes of one event's data (checked on the size field, before the copy)",
    ],
    ['MAX_BANKS', MAX_BANKS, 'hash algorithms in the Spec ID event, and digests per event'],
  ];
  return (
    ['| Bound | Value | Of |', '|---|---|---|', ...rows.map(([n, v, d]) => `| \`${n}\` | ${v} | ${d} |`)].join('\n') +
    '\n'
  );
}
