#!/usr/bin/env node
// Plugin start-up benchmark: time from spawn to the go-plugin handshake line on stdout (median over N
// runs) and peak RSS at that moment, for dist/tpm-quote-agent and dist/tpm-quote-server, beside an empty
// Node program started the same way (an executable file with the same shebang that prints a
// handshake-like line), with the ratios.
//
//   node scripts/bench-plugin-start.mjs [--runs N] [executable...]
//
// Each executable is started as SPIRE starts it: exec'd directly, stdout/stderr piped, with the magic
// cookie and go-plugin's variables in the environment (PLUGIN_UNIX_SOCKET_DIR under a temp dir). Peak RSS
// is VmHWM from /proc/<pid>/status read as soon as the handshake line arrives; the process is then sent
// SIGTERM and awaited before the next run. Runs alternate between the programs so drift hits all alike.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let runs = 20;
const programs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else programs.push(resolve(args[i]));
}
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
if (programs.length === 0) programs.push(join(root, 'dist/tpm-quote-agent'), join(root, 'dist/tpm-quote-server'));
for (const p of programs) {
  if (!existsSync(p)) {
    console.error(`bench-plugin-start: ${p} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
}

const work = mkdtempSync(join(tmpdir(), 'tpmq-bench-'));
// The baseline: same shebang as the first plugin, prints a handshake-like line, then idles like a plugin.
const shebang = readFileSync(programs[0], 'utf8').split('\n', 1)[0];
if (!shebang.startsWith('#!')) throw new Error(`${programs[0]} has no shebang line`);
const baseline = join(work, 'empty-node-plugin');
writeFileSync(
  baseline,
  `${shebang}\nprocess.stdout.write('1|1|unix|' + process.env.PLUGIN_UNIX_SOCKET_DIR + '/none.sock|grpc\\n');\n` +
    `setInterval(() => {}, 1 << 30);\nprocess.on('SIGTERM', () => process.exit(0));\n`,
);
chmodSync(baseline, 0o755);

const HANDSHAKE = /^1\|1\|(unix|tcp)\|[^|]+\|grpc$/;

/** One start: resolves {ms, rssKiB} at the handshake line, after the process has exited again. */
function startOnce(file) {
  return new Promise((resolvePromise, reject) => {
    const sockDir = mkdtempSync(join(work, 'sock-'));
    const env = {
      ...process.env,
      NodeAttestor: 'NodeAttestor',
      PLUGIN_PROTOCOL_VERSIONS: '1',
      PLUGIN_MIN_PORT: '10000',
      PLUGIN_MAX_PORT: '25000',
      PLUGIN_UNIX_SOCKET_DIR: sockDir,
    };
    const t0 = process.hrtime.bigint();
    const child = spawn(file, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let result;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file}: no handshake line within 60 s; stderr: ${err.slice(0, 2000)}`));
    }, 60_000);
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      if (result) return;
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const line = out.slice(0, nl);
      let rssKiB = NaN;
      try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) rssKiB = Number(m[1]);
      } catch { /* exited already: reported as NaN */ }
      if (!HANDSHAKE.test(line)) {
        child.kill('SIGKILL');
        reject(new Error(`${file}: first stdout line is not a handshake: ${JSON.stringify(line)}`));
        return;
      }
      result = { ms, rssKiB };
      child.kill('SIGTERM');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      rmSync(sockDir, { recursive: true, force: true });
      if (result) resolvePromise(result);
      else reject(new Error(`${file}: exited (${code ?? signal}) before a handshake; stderr: ${err.slice(0, 2000)}`));
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const all = [baseline, ...programs];
const samples = new Map(all.map((p) => [p, []]));
try {
  // One warm-up start each (page cache), not counted.
  for (const p of all) await startOnce(p);
  for (let i = 0; i < runs; i++) for (const p of all) samples.get(p).push(await startOnce(p));
} finally {
  rmSync(work, { recursive: true, force: true });
}

const stats = (p) => {
  const s = samples.get(p);
  return {
    ms: median(s.map((x) => x.ms)),
    min: Math.min(...s.map((x) => x.ms)),
    max: Math.max(...s.map((x) => x.ms)),
    rssMiB: median(s.map((x) => x.rssKiB)) / 1024,
    peakMiB: Math.max(...s.map((x) => x.rssKiB)) / 1024,
  };
};
const base = stats(baseline);
const row = (name, s, ratio) =>
  `${name.padEnd(22)} ${s.ms.toFixed(1).padStart(8)} ${`${s.min.toFixed(1)}-${s.max.toFixed(1)}`.padStart(13)} ` +
  `${s.peakMiB.toFixed(1).padStart(14)} ${ratio}`;
console.log(`plugin start -> handshake line, ${runs} runs each (node ${process.version}, ${process.platform}/${process.arch})`);
console.log(`${'program'.padEnd(22)} ${'median ms'.padStart(8)} ${'min-max ms'.padStart(13)} ${'peak RSS MiB'.padStart(14)} ratio vs empty node (time, RSS)`);
console.log(row('empty node (baseline)', base, '1.00x, 1.00x'));
for (const p of programs) {
  const s = stats(p);
  console.log(row(basename(p), s, `${(s.ms / base.ms).toFixed(2)}x, ${(s.peakMiB / base.peakMiB).toFixed(2)}x`));
}
