#!/usr/bin/env node
// Plugin start-up benchmark: file size, time from spawn to the go-plugin handshake line on stdout (median
// over N runs) and peak RSS at that moment, side by side for the self-contained executables
// (dist/tpm_quote/tpm-quote-{agent,server}), today's bundles run by the host's node
// (dist/tpm-quote-{agent,server}) and an empty Node program started the same way (an executable file with
// the bundles' shebang that prints a handshake-like line), with the ratios.
//
//   node scripts/bench-plugin-start.mjs [--runs N] [executable...]
//
// Each executable is started as SPIRE starts it: exec'd directly, stdout/stderr piped, with the magic
// cookie and go-plugin's variables in the environment (PLUGIN_UNIX_SOCKET_DIR under a temp dir). Peak RSS
// is VmHWM from /proc/<pid>/status read as soon as the handshake line arrives (the self-contained
// executables exec node in the same pid, so this is node's, the launcher's own being smaller and gone);
// the process is then sent SIGTERM and awaited before the next run. Runs alternate between the programs
// so drift hits all alike. "file" is the size of the executable itself (what plugin_checksum hashes);
// "with runtime" adds what it runs on: node for a shebang script, the lib/ directory beside a launcher.
// For the launchers, the median time they spent checking lib/ against their pinned SHA-256 digests (from
// their debug log line) is printed below the table.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, relative } from 'node:path';
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
if (programs.length === 0) {
  for (const f of ['dist/tpm_quote/tpm-quote-agent', 'dist/tpm_quote/tpm-quote-server', 'dist/tpm-quote-agent', 'dist/tpm-quote-server']) {
    programs.push(join(root, f));
  }
}
for (const p of programs) {
  if (!existsSync(p)) {
    console.error(`bench-plugin-start: ${p} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
}

const work = mkdtempSync(join(tmpdir(), 'tpmq-bench-'));
/** The program's first line when it is a shebang line, else undefined (a launcher executable). */
const shebangOf = (file) => {
  const head = readFileSync(file).subarray(0, 256).toString('latin1').split('\n', 1)[0];
  return head.startsWith('#!') ? head : undefined;
};
// The baseline: the bundles' shebang, prints a handshake-like line, then idles like a plugin.
const shebang = programs.map(shebangOf).find(Boolean) ?? '#!/usr/bin/env node';
const baseline = join(work, 'empty-node-plugin');
writeFileSync(
  baseline,
  `${shebang}\nprocess.stdout.write('1|1|unix|' + process.env.PLUGIN_UNIX_SOCKET_DIR + '/none.sock|grpc\\n');\n` +
    `setInterval(() => {}, 1 << 30);\nprocess.on('SIGTERM', () => process.exit(0));\n`,
);
chmodSync(baseline, 0o755);

const HANDSHAKE = /^1\|1\|(unix|tcp)\|[^|]+\|grpc$/;

/** Bytes of the program's runtime: node for a shebang script, every file under lib/ beside a launcher. */
function runtimeBytes(file) {
  if (shebangOf(file)) return statSync(realpathSync(process.execPath)).size;
  const lib = join(dirname(file), 'lib');
  return readdirSync(lib).reduce((n, f) => n + statSync(join(lib, f)).size, 0);
}

/** One start: resolves {ms, rssKiB, verifyMs} at the handshake line, after the process has exited again. */
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
      const verify = /"verify_ms":([0-9.]+)/.exec(err);
      if (result) resolvePromise({ ...result, verifyMs: verify ? Number(verify[1]) : undefined });
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
// Sizes now: the baseline's temp dir is gone when the table is printed.
const sizes = new Map(all.map((p) => [p, { file: statSync(p).size, runtime: runtimeBytes(p) }]));
try {
  // One warm-up start each (page cache), not counted.
  for (const p of all) await startOnce(p);
  for (let i = 0; i < runs; i++) for (const p of all) samples.get(p).push(await startOnce(p));
} finally {
  rmSync(work, { recursive: true, force: true });
}

const stats = (p) => {
  const s = samples.get(p);
  const verify = s.map((x) => x.verifyMs).filter((x) => x !== undefined);
  return {
    ms: median(s.map((x) => x.ms)),
    min: Math.min(...s.map((x) => x.ms)),
    max: Math.max(...s.map((x) => x.ms)),
    peakMiB: Math.max(...s.map((x) => x.rssKiB)) / 1024,
    fileMiB: sizes.get(p).file / 2 ** 20,
    runtimeMiB: sizes.get(p).runtime / 2 ** 20,
    verifyMs: verify.length ? median(verify) : undefined,
  };
};
const base = stats(baseline);
const mib = (x) => x.toFixed(1).padStart(9);
const row = (name, s, ratio) =>
  `${name.padEnd(32)} ${mib(s.fileMiB)} ${mib(s.fileMiB + s.runtimeMiB).padStart(12)} ${s.ms.toFixed(1).padStart(9)} ` +
  `${`${s.min.toFixed(1)}-${s.max.toFixed(1)}`.padStart(13)} ${s.peakMiB.toFixed(1).padStart(13)} ${ratio}`;
const label = (p) => relative(root, p).startsWith('..') ? p : relative(root, p);
console.log(`plugin start -> handshake line, ${runs} runs each (node ${process.version}, ${process.platform}/${process.arch})`);
console.log(
  `${'program'.padEnd(32)} ${'file MiB'.padStart(9)} ${'with runtime'.padStart(12)} ${'median ms'.padStart(9)} ` +
    `${'min-max ms'.padStart(13)} ${'peak RSS MiB'.padStart(13)} ratio vs empty node (time, RSS)`,
);
console.log(row('empty node (baseline)', base, '1.00x, 1.00x'));
const verifyNotes = [];
for (const p of programs) {
  const s = stats(p);
  console.log(row(label(p), s, `${(s.ms / base.ms).toFixed(2)}x, ${(s.peakMiB / base.peakMiB).toFixed(2)}x`));
  if (s.verifyMs !== undefined) verifyNotes.push(`${label(p)}: median ${s.verifyMs.toFixed(1)} ms checking lib/ (part of its start time)`);
}
for (const n of verifyNotes) console.log(n);
