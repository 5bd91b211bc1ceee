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
