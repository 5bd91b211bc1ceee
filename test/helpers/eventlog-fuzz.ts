// Mutated event logs for the fuzz test (jest, short) and scripts/fuzz-eventlog.mjs (10^5 cases): one mutator
// and one case runner serve both, so the script measures exactly what the test asserts.
import { performance } from 'node:perf_hooks';
import { EventLogError, extractBootFacts, parseEventLog, replayEventLog, verifyEventLog } from '../../tpm/eventlog';
import type { PcrValues } from '../../tpm/types/pcr';
import { rng } from './rng';

export interface FuzzSeed {
  name: string;
  bytes: Uint8Array;
  /** Record offsets of the seed, so mutations can aim at size fields and digest counts. */
  offsets: number[];
  /** The seed's own replay: mutated logs are verified against it (most then mismatch, some verify). */
  pcrs: PcrValues;
}

/** A seed from a log that parses. */
export function fuzzSeed(name: string, bytes: Uint8Array): FuzzSeed {
  const log = parseEventLog(bytes);
  return { name, bytes, offsets: log.events.map((e) => e.offset), pcrs: replayEventLog(log) };
}

const putLe32 = (b: Uint8Array, at: number, v: number): void => {
  if (at >= 0 && at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);
};

/** Returns a mutator drawing from a seeded PRNG (reproducible per seed). */
export function eventLogMutator(seed: number): (s: FuzzSeed) => Uint8Array {
  const random = rng(seed);
  const rnd = (n: number): number => Math.floor(random() * n);
  const big = (): number => [0xffffffff, 0x80000000, 0x7fffffff, 0x00100000, 0x00040001, rnd(0x10000)][rnd(6)];
  return (s) => {
    const b = new Uint8Array(s.bytes);
    const rec = s.offsets[rnd(s.offsets.length)];
    switch (rnd(8)) {
      case 0: // flip bits anywhere
        for (let k = 0; k <= rnd(6); k++) b[rnd(b.length)] ^= 1 << rnd(8);
        return b;
      case 1: // truncate
        return b.subarray(0, rnd(b.length + 1));
      case 2: // a record's PCR index or type
        putLe32(b, rec + rnd(2) * 4, rnd(2) ? big() : rnd(40));
        return b;
      case 3: // a record's digest count (crypto-agile) or the legacy event size (offset 28)
        putLe32(b, rec + (rnd(2) ? 8 : 28), big());
        return b;
      case 4: // a little-endian size-like value at any offset
        putLe32(b, rnd(b.length), big());
        return b;
      case 5: {
        // drop a record's tail into the next one
        const cut = rec + rnd(64);
        return new Uint8Array([...b.subarray(0, cut), ...b.subarray(Math.min(b.length, cut + 1 + rnd(64)))]);
      }
      case 6: {
        // duplicate a slice (repeated events, appended garbage)
        const from = rnd(b.length);
        return new Uint8Array([...b, ...b.subarray(from, from + rnd(4096))]);
      }
      default: {
        // random bytes spliced in
        const at = rnd(b.length + 1);
        const junk = Uint8Array.from({ length: rnd(48) }, () => rnd(256));
        return new Uint8Array([...b.subarray(0, at), ...junk, ...b.subarray(at)]);
      }
    }
  };
}

export type FuzzOutcome = 'ok' | 'ok-verified' | EventLogError['code'];

/**
 * Parses, replays, verifies against the seed's PCRs and, when that passes, extracts facts. Returns the
 * outcome and the time taken; anything thrown that is not an EventLogError is rethrown (a crash).
 */
export function runFuzzCase(bytes: Uint8Array, pcrs: PcrValues): { outcome: FuzzOutcome; ms: number } {
  const t0 = performance.now();
  let outcome: FuzzOutcome;
  try {
    const log = parseEventLog(bytes);
    replayEventLog(log);
    const v = verifyEventLog({ log, pcrs });
    extractBootFacts(v);
    outcome = Object.values(v.verified).some((s) => s && s.size > 0) ? 'ok-verified' : 'ok';
  } catch (e) {
    if (!(e instanceof EventLogError)) throw e;
    outcome = e.code;
  }
  return { outcome, ms: performance.now() - t0 };
}
