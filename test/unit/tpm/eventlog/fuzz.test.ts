// Property test: mutated real logs (and random bytes) only ever end in a result or an EventLogError; no other
// exception escapes from parse, replay, verify or fact extraction. 10^5 cases: scripts/fuzz-eventlog.mjs.
import { EventLogError, parseEventLog } from '../../../../tpm/eventlog';
import { eventLogMutator, fuzzSeed, runFuzzCase } from '../../../helpers/eventlog-fuzz';
import { realEventLogs } from '../../../helpers/go-testdata';
import { rng } from '../../../helpers/rng';

const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 1500);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed10);

test(`${ROUNDS} mutated real logs: a result or an EventLogError, never anything else`, () => {
  const seeds = realEventLogs().map((l) => fuzzSeed(l.name, l.bytes));
  const mutate = eventLogMutator(SEED);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < ROUNDS; i++) {
    const s = seeds[i % seeds.length];
    const input = mutate(s);
    let outcome: string;
    try {
      outcome = runFuzzCase(input, s.pcrs).outcome;
    } catch (e) {
      throw new Error(`case ${i} (seed ${s.name}, FUZZ_SEED=${SEED}): ${String(e)}`, { cause: e });
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  // The mutations reach every layer: structure errors, bounds, replay mismatches and logs that still verify.
  for (const o of ['EVENT_LOG_MALFORMED', 'EVENT_LOG_TOO_LARGE', 'EVENT_LOG_PCR_MISMATCH', 'ok-verified'])
    expect(outcomes.get(o) ?? 0).toBeGreaterThan(0);
});

test('random bytes: EVENT_LOG_MALFORMED or a parsed log, nothing else', () => {
  const random = rng(SEED);
  for (let i = 0; i < ROUNDS / 3; i++) {
    const b = Uint8Array.from({ length: Math.floor(random() * 400) }, () => Math.floor(random() * 256));
    try {
      parseEventLog(b);
    } catch (e) {
      if (!(e instanceof EventLogError)) throw new Error(`random case ${i}: ${String(e)}`, { cause: e });
    }
  }
});
