// Replay of a parsed event log into PCR values (TPM2_PCR_Extend: new = H(old || digest)), and its comparison
// with PCR values from a verified quote.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HashName } from '../crypto/hash';
import { hashSize } from '../crypto/hash';
import type { PcrValues } from '../types/pcr';
import { checkPcrValues } from '../verify/pcr-values';
import { EV_NO_ACTION, STARTUP_LOCALITY } from './constants';
import { EventLogError } from './errors';
import type { EventLog, LogEvent } from './parse';

/** PCR indices by bank (e.g. the PCRs a log was verified against, in each bank). */
export type PcrSet = Partial<Record<HashName, ReadonlySet<number>>>;

/** One PCR in one bank: its events in log order and its value after each (`values[k]` = after k events). */
interface PcrTrace {
  events: LogEvent[];
  values: Uint8Array[];
}

function isStartupLocality(e: LogEvent): boolean {
  return (
    e.type === EV_NO_ACTION &&
    e.pcr === 0 &&
    e.data.length === 17 &&
    Buffer.from(e.data.subarray(0, 16)).toString('latin1') === STARTUP_LOCALITY
  );
}

// Every PCR the log extends in `bank`, with the running value after each event.
function trace(log: EventLog, bank: HashName): Map<number, PcrTrace> {
  const size = hashSize(bank);
  const traces = new Map<number, PcrTrace>();
  const start = (pcr: number): PcrTrace => {
    let t = traces.get(pcr);
    if (!t) traces.set(pcr, (t = { events: [], values: [new Uint8Array(size)] }));
    return t;
  };
  for (const e of log.events) {
    if (e.type === EV_NO_ACTION) {
      // PFP 10.4.5.3: an H-CRTM or locality-3 startup leaves the locality in PCR 0's last byte before any extend.
      if (isStartupLocality(e)) {
        const t = start(0);
        if (t.events.length > 0)
          throw new EventLogError('EVENT_LOG_MALFORMED', `event ${e.index}: StartupLocality after PCR 0 was extended`, {
            eventIndex: e.index,
            pcr: 0,
          });
        t.values[0] = new Uint8Array(size);
        t.values[0][size - 1] = e.data[16];
      }
      continue;
    }
    const digest = e.digests[bank];
    if (!digest)
      throw new EventLogError('EVENT_LOG_MALFORMED', `event ${e.index} has no ${bank} digest`, {
        eventIndex: e.index,
        bank,
        pcr: e.pcr,
      });
    const t = start(e.pcr);
    t.events.push(e);
    t.values.push(
      createHash(bank)
        .update(t.values[t.values.length - 1])
        .update(digest)
        .digest(),
    );
  }
  // A PCR that only got a StartupLocality record and no extend is not touched by the log.
  for (const [pcr, t] of traces) if (t.events.length === 0) traces.delete(pcr);
  return traces;
}

/**
 * The PCR values the log predicts: every PCR it extends, in every bank it carries (`banks` narrows that).
 * PCRs the log never extends are absent. Throws EVENT_LOG_MALFORMED when an event lacks a bank's digest.
 */
export function replayEventLog(log: EventLog, banks: readonly HashName[] = log.banks): PcrValues {
  const out: PcrValues = {};
  for (const bank of banks) {
    const pcrs: Record<number, Uint8Array> = {};
    for (const [pcr, t] of trace(log, bank)) pcrs[pcr] = t.values[t.values.length - 1];
    out[bank] = pcrs;
  }
  return out;
}

export interface VerifiedEventLog {
  log: EventLog;
  /** What the log predicts, in each bank both the log and `pcrs` have. */
  replayed: PcrValues;
  /** PCRs, by bank, whose supplied value equals the replay (owned PCRs even without events): facts may be read from these. */
  verified: PcrSet;
}

export interface VerifyEventLogOptions {
  log: EventLog;
  /** PCR values from a quote that has already been verified (verifyQuote): the log is checked against these. */
  pcrs: PcrValues;
  /**
   * PCRs the log is authoritative for: when quoted they must replay even if the log has no event for them (so
   * a log cannot drop all of a PCR's events). Default PLATFORM_FIRMWARE_PCRS (0-7, PFP 3.3.4).
   */
  ownedPcrs?: readonly number[];
}

/** PCRs 0-7: measured by platform firmware only, all of it logged (PFP 3.3.4). */
export const PLATFORM_FIRMWARE_PCRS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7];

const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);

// Why `pcr` differs: the longest prefix of its events that would have produced `quoted` says where the
// unexplained events start (appended without extend); with no such prefix, its first event is already unexplained.
function mismatch(bank: HashName, pcr: number, t: PcrTrace, quoted: Uint8Array): EventLogError {
  for (let k = t.events.length - 1; k >= 0; k--) {
    if (!equal(t.values[k], quoted)) continue;
    const e = t.events[k];
    return new EventLogError(
      'EVENT_LOG_PCR_MISMATCH',
      `PCR ${bank}:${pcr}: the quoted value is the replay of the first ${k} of its ${t.events.length} events; event ${e.index} (${e.typeName}) and the ${t.events.length - k - 1} after it on this PCR were not extended`,
      { pcr, bank, eventIndex: e.index },
    );
  }
  const e = t.events[0];
  return new EventLogError(
    'EVENT_LOG_PCR_MISMATCH',
    `PCR ${bank}:${pcr}: the replay of its ${t.events.length} events differs from the quoted value and no prefix of them matches it; the replay diverges at or after event ${e.index} (${e.typeName}), the first on this PCR`,
    { pcr, bank, eventIndex: e.index },
  );
}

/**
 * Replays `log` and compares it with quoted PCR values. Checks that `pcrs` is well formed (TpmVerifyError
 * PCR_VALUES_MALFORMED), then, for every bank present in both the log and `pcrs` and every PCR `pcrs` supplies
 * that the log extends or owns (`ownedPcrs`, default 0-7, whose replay without events is the reset value), that
 * the replay equals the supplied value; the first difference (banks in the log's order, PCRs ascending) is
 * EVENT_LOG_PCR_MISMATCH naming PCR, bank and the first event that cannot explain the value. Does NOT check:
 * other PCRs the log never extends (left out of `verified`; e.g. IMA's PCR 10), banks the quote lacks, or event
 * data against digests (the fact extractor does that for the events it reads). The caller owes: `pcrs` from a
 * quote verified with a fresh nonce.
 */
export function verifyEventLog(options: VerifyEventLogOptions): VerifiedEventLog {
  const { log, pcrs, ownedPcrs = PLATFORM_FIRMWARE_PCRS } = options;
  checkPcrValues(pcrs);
  const replayed: PcrValues = {};
  const verified: PcrSet = {};
  for (const bank of log.banks) {
    const quoted = pcrs[bank];
    if (!quoted) continue;
    const values: Record<number, Uint8Array> = {};
    const ok = new Set<number>();
    const traces = trace(log, bank);
    for (const pcr of new Set([...traces.keys(), ...ownedPcrs].sort((a, b) => a - b))) {
      const t = traces.get(pcr) ?? { events: [], values: [new Uint8Array(hashSize(bank))] };
      values[pcr] = t.values[t.values.length - 1];
      const q = quoted[pcr];
      if (!q) continue;
      if (!equal(values[pcr], q)) {
        if (t.events.length === 0)
          throw new EventLogError(
            'EVENT_LOG_PCR_MISMATCH',
            `PCR ${bank}:${pcr}: the log has no event for it, but the quoted value is not its reset value (its events were left out)`,
            { pcr, bank },
          );
        throw mismatch(bank, pcr, t, q);
      }
      ok.add(pcr);
    }
    replayed[bank] = values;
    verified[bank] = ok;
  }
  return { log, replayed, verified };
}
