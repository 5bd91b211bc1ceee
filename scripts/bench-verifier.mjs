#!/usr/bin/env node
// Verification latency (p50, p95) and throughput with 8 concurrent requests: in-process vs a real Keylime
// verifier (Keylime alone, and Keylime mode = our quote checks + Keylime), on one real swtpm quote made with
// tpm2-tools (RSA-2048 RSASSA/SHA-256 AK under the EK, sha256 PCRs 0-7, exact tpm_policy).
// Needs scripts/install-tpm-tools.sh and scripts/install-keylime.sh.
// Usage: node scripts/bench-verifier.mjs [sequential requests per row, default 300] [concurrent requests, default 800]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTs, percentiles, repoRoot as root } from './lib/load-ts.mjs';

const sequential = Number(process.argv[2] ?? 300);
const concurrentTotal = Number(process.argv[3] ?? 800);
const CONCURRENCY = 8;

// Our TypeScript, bundled in memory (as the other benchmarks do).
const vc = await loadTs(`
export { createInProcessVerifier, createGatedVerifier, createKeylimeVerifierFromFiles, parseTpmPolicy } from './verifier-client';
export { createToolsAk, toolsQuote, toolsPcrRead, toolsPcrExtend } from './test/helpers/keylime';
`);

function fixture(script, cmd, dir) {
  const text = execFileSync('bash', [join(root, 'test/helpers', script), cmd, dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const swtpmDir = mkdtempSync(join(tmpdir(), 'bench-swtpm-'));
const klDir = mkdtempSync(join(tmpdir(), 'bench-keylime-'));
const cleanup = () => {
  // Best effort: a fixture that never started has nothing to stop.
  try {
    fixture('keylime-fixture.sh', 'stop', klDir);
  } catch {
    /* not running */
  }
  try {
    fixture('swtpm-fixture.sh', 'stop', swtpmDir);
  } catch {
    /* not running */
  }
  rmSync(klDir, { recursive: true, force: true });
  rmSync(swtpmDir, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const tpm = fixture('swtpm-fixture.sh', 'start', swtpmDir);
const kl = fixture('keylime-fixture.sh', 'start', klDir);
// The evidence comes from tpm2-tools, not from our TPM code: the same helpers the Keylime tests use.
const toolsTpm = { dir: swtpmDir, env: { ...process.env, TPM2TOOLS_TCTI: tpm.SWTPM_TCTI } };
const PCRS = [0, 1, 2, 3, 4, 5, 6, 7];
vc.toolsPcrExtend(toolsTpm, 7, 'sha256', 'bb'.repeat(32));
const evidence = vc.toolsQuote(toolsTpm, vc.createToolsAk(toolsTpm, 'rsa'), { nonce: randomBytes(32), pcrs: PCRS });
const policyDoc = Object.fromEntries(
  [...vc.toolsPcrRead(toolsTpm, 'sha256', PCRS)].map(([pcr, hex]) => [String(pcr), [hex]]),
);
const policy = vc.parseTpmPolicy(JSON.stringify(policyDoc));

const keylimeOptions = {
  url: kl.KEYLIME_URL,
  caPath: kl.KEYLIME_CA,
  clientCertPath: kl.KEYLIME_CLIENT_CERT,
  clientKeyPath: kl.KEYLIME_CLIENT_KEY,
  timeoutMs: 15000,
  maxSockets: CONCURRENCY,
};
const rows = [
  ['in-process (verifyQuote + policy)', vc.createInProcessVerifier()],
  ['Keylime alone (POST /verify/evidence)', vc.createKeylimeVerifierFromFiles(keylimeOptions)],
  [
    'Keylime mode (our quote checks + Keylime)',
    vc.createGatedVerifier(vc.createKeylimeVerifierFromFiles(keylimeOptions)),
  ],
];

const ms = (ns) => Number(ns) / 1e6;

console.log(
  `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; Keylime 7.14.3 at ${kl.KEYLIME_URL} (API ${kl.KEYLIME_API_VERSION}, 2 worker processes)`,
);
console.log(
  `evidence: RSA-2048 RSASSA/SHA-256 AK, sha256 PCRs 0-7, policy of 8 PCRs; ${sequential} sequential requests, then ${concurrentTotal} with ${CONCURRENCY} in flight`,
);
console.log('');
console.log(
  `${'verifier'.padEnd(44)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)}   ${'8-concurrent /s'.padStart(15)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)}`,
);
for (const [name, verifier] of rows) {
  for (let i = 0; i < 20; i++) await verifier.verify(evidence, policy); // warm-up, and proves it passes
  const lat = [];
  for (let i = 0; i < sequential; i++) {
    const t = process.hrtime.bigint();
    await verifier.verify(evidence, policy);
    lat.push(ms(process.hrtime.bigint() - t));
  }
  const seq = percentiles(lat);
  const clat = [];
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < concurrentTotal) {
        next++;
        const t = process.hrtime.bigint();
        await verifier.verify(evidence, policy);
        clat.push(ms(process.hrtime.bigint() - t));
      }
    }),
  );
  const seconds = ms(process.hrtime.bigint() - start) / 1000;
  const conc = percentiles(clat);
  verifier.close();
  console.log(
    `${name.padEnd(44)} ${seq.p50.toFixed(2).padStart(8)} ${seq.p95.toFixed(2).padStart(8)} ${Math.max(...lat)
      .toFixed(2)
      .padStart(
        8,
      )}   ${(concurrentTotal / seconds).toFixed(0).padStart(15)} ${conc.p50.toFixed(2).padStart(8)} ${conc.p95.toFixed(2).padStart(8)}`,
  );
}
process.exit(0);
