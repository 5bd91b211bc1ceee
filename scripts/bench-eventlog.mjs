#!/usr/bin/env node
// Parse + replay (+ verify against its PCRs + boot facts + selectors) of the largest real event logs (by bytes,
// and by events), in ms (p50/p95), our TypeScript bundled as it ships. The logs come from the Go module cache
// (go mod download, as the tests fetch them).
// Usage: node scripts/bench-eventlog.mjs [iterations, default 2000]
import { performance } from 'node:perf_hooks';
import { loadTs, percentiles } from './lib/load-ts.mjs';

const iterations = Number(process.argv[2] ?? 2000);
const { realEventLogs, parseEventLog, replayEventLog, verifyEventLog, extractBootFacts, bootSelectors } = await loadTs(`
export { realEventLogs } from './test/helpers/go-testdata';
export { parseEventLog, replayEventLog, verifyEventLog, extractBootFacts, bootSelectors } from './tpm/eventlog';
`);

function bench(real) {
  const parsed = parseEventLog(real.bytes);
  const pcrs = replayEventLog(parsed);
  const steps = {
    parse: () => parseEventLog(real.bytes),
    'parse + replay (all banks)': () => replayEventLog(parseEventLog(real.bytes)),
    'parse + verify + facts + selectors (per attestation)': () =>
      bootSelectors(extractBootFacts(verifyEventLog({ log: parseEventLog(real.bytes), pcrs }))),
  };
  console.log(
    `${real.name}: ${real.bytes.length} bytes, ${parsed.events.length} events, banks ${parsed.banks.join('+')} (${real.sources[0]})`,
  );
  for (const [name, f] of Object.entries(steps)) {
    for (let i = 0; i < 200; i++) f(); // warm-up
    const ms = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      f();
      ms.push(performance.now() - t0);
    }
    const { p50, p95 } = percentiles(ms);
    console.log(`  ${name.padEnd(54)} p50 ${p50.toFixed(3)} ms  p95 ${p95.toFixed(3)} ms`);
  }
}

const logs = realEventLogs();
const events = (l) => parseEventLog(l.bytes).events.length;
const bySize = [...logs].sort((a, b) => b.bytes.length - a.bytes.length)[0];
const byEvents = [...logs].sort((a, b) => events(b) - events(a))[0];
for (const real of new Set([bySize, byEvents])) bench(real);
