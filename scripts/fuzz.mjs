#!/usr/bin/env node
// Mutation fuzzing of every decoder that reads wire or file bytes (test/helpers/fuzz-targets.ts), seeded
// from the captured fixtures; inputs that give a new outcome join that decoder's pool. Prints per decoder:
// inputs, distinct outcomes, crashes (a throw that is not the decoder's documented error type), hangs
// (an input over the per-input bound), the slowest input and the peak heap. Exits 1 on any crash or hang.
// A target may bring its own mutator (the TCG event log: the structure-aware one of scripts/fuzz-eventlog.mjs).
// The Keylime answer decoder runs over loopback HTTPS, so it gets KEYLIME_SHARE of the inputs (its inputs
// cost ~100x more than the others').
// Usage: node scripts/fuzz.mjs [total inputs, default 1000000] [seed] [per-input bound ms, default 1000]
import { loadTs, repoRoot } from './lib/load-ts.mjs';

const total = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 0xf0221);
const boundMs = Number(process.argv[4] ?? 1000);
const KEYLIME_SHARE = 0.01;
const POOL_MAX = 512;

const { fuzzTargets, outcomeOf, byteMutator } = await loadTs(`
export { fuzzTargets, outcomeOf } from './test/helpers/fuzz-targets';
export { byteMutator } from './test/helpers/mutator';
`);

const targets = await fuzzTargets(repoRoot);
const asyncCount = targets.filter((t) => t.async).length;
const syncShare = (1 - KEYLIME_SHARE * asyncCount) / (targets.length - asyncCount);
const t0 = Date.now();
const rows = [];
let crashes = 0;
let hangs = 0;
for (const [k, target] of targets.entries()) {
  const n = Math.max(1, Math.round(total * (target.async ? KEYLIME_SHARE : syncShare)));
  const mutate = (target.mutator ?? byteMutator)(seed + k);
  const pool = [...target.seeds];
  const outcomes = new Map();
  const failures = [];
  let slowest = { ms: -1, bytes: 0, hex: '', outcome: '' };
  let peakHeap = 0;
  let hung = 0;
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    // One input in 16 is a seed as captured, so the decoders' success paths keep running.
    const input = i % 16 === 0 ? pool[i % target.seeds.length] : mutate(pool[(i * 7919) % pool.length], pool);
    const s = performance.now();
    let outcome;
    try {
      const r = target.async ? await target.run(input) : target.run(input);
      outcome = target.labelled ? String(r) : 'ok';
    } catch (e) {
      if (target.documented.some((C) => e instanceof C)) outcome = outcomeOf(e);
      else {
        outcome = `CRASH ${e?.name ?? typeof e}`;
        if (failures.length < 5)
          failures.push(
            `${String(e?.stack ?? e)
              .split('\n')
              .slice(0, 3)
              .join(' | ')} for input ${Buffer.from(input).toString('hex').slice(0, 400)}`,
          );
      }
    }
    const ms = performance.now() - s;
    if (ms > boundMs) hung++;
    if (ms > slowest.ms)
      slowest = { ms, bytes: input.length, hex: Buffer.from(input.subarray(0, 24)).toString('hex'), outcome };
    if (!outcomes.has(outcome) && pool.length < POOL_MAX) pool.push(input);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if ((i & 1023) === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }
  target.close?.();
  const crashed = [...outcomes].filter(([o]) => o.startsWith('CRASH')).reduce((a, [, c]) => a + c, 0);
  crashes += crashed;
  hangs += hung;
  rows.push({ target, n, outcomes, crashed, hung, slowest, peakHeap, failures, secs: (Date.now() - started) / 1000 });
}

const mib = (b) => (b / 2 ** 20).toFixed(1);
console.log(
  `fuzz: ${total} inputs requested, seed ${seed}, per-input bound ${boundMs} ms, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
console.log(
  `${'decoder'.padEnd(22)} ${'inputs'.padStart(8)} ${'outcomes'.padStart(8)} ${'crashes'.padStart(7)} ${'hangs'.padStart(5)} ${'slowest ms'.padStart(10)} ${'bytes'.padStart(6)} ${'peak heap MiB'.padStart(13)} ${'s'.padStart(6)}`,
);
let inputs = 0;
for (const r of rows) {
  inputs += r.n;
  console.log(
    `${r.target.name.padEnd(22)} ${String(r.n).padStart(8)} ${String(r.outcomes.size).padStart(8)} ${String(r.crashed).padStart(7)} ${String(r.hung).padStart(5)} ${r.slowest.ms.toFixed(2).padStart(10)} ${String(r.slowest.bytes).padStart(6)} ${mib(r.peakHeap).padStart(13)} ${r.secs.toFixed(1).padStart(6)}`,
  );
}
console.log(`total inputs ${inputs}, crashes ${crashes}, hangs ${hangs}`);
for (const r of rows) {
  const top = [...r.outcomes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([o, c]) => `${o}=${c}`);
  console.log(`  ${r.target.name}: ${top.join(' ')}${r.outcomes.size > 6 ? ' ...' : ''}`);
  console.log(
    `    slowest: ${r.slowest.ms.toFixed(2)} ms, ${r.slowest.bytes} bytes (${r.slowest.outcome}), starts ${r.slowest.hex}`,
  );
  for (const f of r.failures) console.log(`    CRASH ${f}`);
}
process.exit(crashes === 0 && hangs === 0 ? 0 : 1);
