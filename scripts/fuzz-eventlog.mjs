#!/usr/bin/env node
// 10^5 (or N) mutated real event logs through parse -> replay -> verify -> facts (our code bundled from
// TypeScript). Prints the count of each outcome, the crashes (anything but an EventLogError), the slowest
// cases and the peak heap. The real logs come from the Go module cache (go mod download, as the tests do).
// Usage: node scripts/fuzz-eventlog.mjs [cases, default 100000] [seed]
import { loadTs } from './lib/load-ts.mjs';

const total = Number(process.argv[2] ?? 100000);
const seed = Number(process.argv[3] ?? 0x5eed10);

const { realEventLogs, fuzzSeed, eventLogMutator, runFuzzCase } = await loadTs(`
export { realEventLogs } from './test/helpers/go-testdata';
export { fuzzSeed, eventLogMutator, runFuzzCase } from './test/helpers/eventlog-fuzz';
`);

const seeds = realEventLogs().map((l) => fuzzSeed(l.name, l.bytes));
const mutate = eventLogMutator(seed);
const outcomes = new Map();
const crashes = [];
const slowest = [];
let peakHeap = 0;
const t0 = Date.now();
for (let i = 0; i < total; i++) {
  const s = seeds[i % seeds.length];
  const input = mutate(s);
  try {
    const { outcome, ms } = runFuzzCase(input, s.pcrs);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if (slowest.length < 5 || ms > slowest[slowest.length - 1].ms) {
      slowest.push({ i, seed: s.name, bytes: input.length, ms, outcome });
      slowest.sort((a, b) => b.ms - a.ms);
      slowest.length = Math.min(slowest.length, 5);
    }
  } catch (e) {
    crashes.push({ i, seed: s.name, error: String(e).slice(0, 200) });
  }
  if (i % 5000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}
const secs = (Date.now() - t0) / 1000;
console.log(
  `${total} mutated logs from ${seeds.length} real logs (seed ${seed}) in ${secs.toFixed(1)} s (${((secs * 1000) / total).toFixed(3)} ms/case)`,
);
for (const [o, n] of [...outcomes].sort((a, b) => b[1] - a[1])) console.log(`  ${o.padEnd(24)} ${n}`);
console.log(`crashes: ${crashes.length}`);
for (const c of crashes.slice(0, 10)) console.log(`  case ${c.i} (${c.seed}): ${c.error}`);
console.log('slowest:');
for (const s of slowest)
  console.log(`  case ${s.i} (${s.seed}, ${s.bytes} bytes, ${s.outcome}): ${s.ms.toFixed(2)} ms`);
console.log(`peak heap used: ${(peakHeap / 2 ** 20).toFixed(1)} MiB`);
process.exit(crashes.length === 0 ? 0 : 1);
