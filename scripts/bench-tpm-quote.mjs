#!/usr/bin/env node
// Quote latency on one swtpm: our TPM client (as the agent plugin runs it per attestation: load the AK
// under the EK, TPM2_Quote over sha256:0-7, flush) beside one `tpm2_quote` process per quote with a
// persistent AK (tpm2-tools' usual way). Prints medians, p95 and the ratio.
// Usage: node scripts/bench-tpm-quote.mjs [runs, default 50]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTs, percentiles, repoRoot } from './lib/load-ts.mjs';

const runs = Number(process.argv[2] ?? 50);
const { openTpm, TPM_ALG_SHA256 } = await loadTs(`
export { openTpm } from './tpm/client';
export { TPM_ALG_SHA256 } from './tpm/marshal/constants';
`);

const dir = mkdtempSync(join(tmpdir(), 'bench-quote-'));
const fixture = join(repoRoot, 'test/helpers/swtpm-fixture.sh');
const vars = Object.fromEntries(
  execFileSync('bash', [fixture, 'start', dir], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const env = { ...process.env, TPM2TOOLS_TCTI: vars.SWTPM_TCTI };
const tools = (...args) => execFileSync(args[0], args.slice(1), { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const nonceHex = 'a5'.repeat(32);

try {
  const tpm = openTpm(vars.SWTPM_TCTI);
  const ek = await tpm.readEk('rsa');
  const ak = await tpm.loadOrCreateAk(join(dir, 'ak'), 'rsa', { ek });
  const selection = [{ hash: TPM_ALG_SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }];
  const nonce = Buffer.from(nonceHex, 'hex');

  // Without a resource manager tpm2-tools leaves its objects and sessions loaded: flush after each step.
  const flushed = (...args) => {
    tools(...args);
    tools('tpm2_flushcontext', '-t');
    tools('tpm2_flushcontext', '-l');
  };
  flushed('tpm2_createek', '-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub');
  flushed('tpm2_createak', '-C', 'ek.ctx', '-c', 'ak.ctx', '-G', 'rsa', '-g', 'sha256', '-s', 'rsassa');
  flushed('tpm2_evictcontrol', '-C', 'o', '-c', 'ak.ctx', '0x81010020');

  const ours = [];
  const theirs = [];
  for (let i = 0; i < 5; i++) await tpm.quote(ak, nonce, selection); // warm-up
  for (let i = 0; i < runs; i++) {
    let t0 = process.hrtime.bigint();
    await tpm.quote(ak, nonce, selection);
    ours.push(ms(t0));
    t0 = process.hrtime.bigint();
    tools(
      'tpm2_quote',
      '-c',
      '0x81010020',
      '-l',
      'sha256:0,1,2,3,4,5,6,7',
      '-q',
      nonceHex,
      '-m',
      'q.msg',
      '-s',
      'q.sig',
    );
    theirs.push(ms(t0));
  }
  const left = await tpm.loadedCounts();
  await tpm.close();
  const a = percentiles(ours);
  const b = percentiles(theirs);
  console.log(`quote latency on swtpm, ${runs} runs each, sha256:0-7, RSA-2048 AK`);
  console.log(`  ours (load AK under EK + TPM2_Quote + flush): p50 ${a.p50.toFixed(2)} ms  p95 ${a.p95.toFixed(2)} ms`);
  console.log(`  tpm2_quote process (persistent AK):          p50 ${b.p50.toFixed(2)} ms  p95 ${b.p95.toFixed(2)} ms`);
  console.log(`  ratio tpm2_quote / ours (p50): ${(b.p50 / a.p50).toFixed(2)}x`);
  console.log(`  TPM afterwards: ${left.transient} transient objects, ${left.sessions} sessions loaded`);
} finally {
  execFileSync('bash', [fixture, 'stop', dir], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
