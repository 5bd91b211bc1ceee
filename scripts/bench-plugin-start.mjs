#!/usr/bin/env node
// Plugin start-up benchmark: file size, time from spawn to the go-plugin handshake line on stdout (median
// over N runs) and peak RSS at that moment, side by side for the self-contained executables
// (dist/tpm_quote/tpm-quote-{agent,server}), today's bundles run by the host's node
// (dist/tpm-quote-{agent,server}) and an empty Node program started the same way (an executable file with
// node from PATH as its shebang, without node flags, that prints a handshake-like line), with the ratios,
// the floor under any grpc-js plugin (the same, loading http2 and listening on a unix socket first) and an
// empty grpc-js server bundled like the plugins.
// Every program starts without NODE_EXTRA_CA_CERTS (see below).
//
// Each executable is started as SPIRE starts it: exec'd directly, stdout/stderr piped, with the magic
// cookie and go-plugin's variables in the environment (PLUGIN_UNIX_SOCKET_DIR under a temp dir). Peak RSS
// is VmHWM from /proc/<pid>/status read as soon as the handshake line arrives, with the CPU time so far
// (mean over the runs; see cpuMsOf) beside it (the self-contained
// executables exec node in the same pid, so this is node's, the launcher's own being smaller and gone);
// the process is then sent SIGTERM and awaited before the next run. Runs alternate between the programs
// so drift hits all alike. "file" is the size of the executable itself (what plugin_checksum hashes);
// "with runtime" adds what it runs on: node for a shebang script, the lib/ directory beside a launcher.
// For the launchers, the median time they spent checking lib/ against their pinned SHA-256 digests (from
// their debug log line) is printed below the table.
//
// Then, for each agent/server pair among the programs (same directory), the memory after use: both plugins
// started as above, Init and Configure, then --attestations N (default 100; 0 skips) attestations in a row
// through both over go-plugin gRPC, relayed as SPIRE relays them (test/plugin/attest-pipe.ts), on one swtpm
// with its EK CA trusted; VmRSS and peak (VmHWM) of each plugin after Configure and after the N-th. Beside
// them, each plugin's first calls, which now load what the start deferred (docs/packaging.md): wall ms of
// its first Init, its first Configure and the first attestation (through both plugins and swtpm), and the
// CPU ms the plugin spent from the handshake to the end of that attestation.
//
//   node scripts/bench-plugin-start.mjs [--runs N] [--attestations N] [executable...]
import { execFileSync, spawn } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
  chmodSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, relative, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { loadTs } from './lib/load-ts.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let runs = 20;
let attestations = 100;
const programs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--attestations') attestations = Number(args[++i]);
  else programs.push(resolve(args[i]));
}
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
if (!Number.isInteger(attestations) || attestations < 0) throw new Error('--attestations must be an integer >= 0');
if (programs.length === 0) {
  for (const f of [
    'dist/tpm_quote/tpm-quote-agent',
    'dist/tpm_quote/tpm-quote-server',
    'dist/tpm-quote-agent',
    'dist/tpm-quote-server',
  ]) {
    programs.push(join(root, f));
  }
}
for (const p of programs) {
  if (!existsSync(p)) {
    console.error(`bench-plugin-start: ${p} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
}

// Every program starts without NODE_EXTRA_CA_CERTS, as on a host that does not set it: node parses that
// whole file at each start (~30 ms of CPU for a distribution's bundle), which the plugins never pay (the
// launcher and the bundles' shebang drop it) but an empty node would, so a baseline carrying it flatters
// every ratio. When the caller's environment has it, one more row shows the empty node with it.
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS;
delete process.env.NODE_EXTRA_CA_CERTS;

const work = mkdtempSync(join(tmpdir(), 'tpmq-bench-'));
/** The program's first line when it is a shebang line, else undefined (a launcher executable). */
const shebangOf = (file) => {
  const head = readFileSync(file).subarray(0, 256).toString('latin1').split('\n', 1)[0];
  return head.startsWith('#!') ? head : undefined;
};
// The baseline: node from PATH (as the bundles' shebang finds it) without flags, prints a handshake-like
// line, then idles like a plugin.
const shebang = '#!/usr/bin/env node';
const baseline = join(work, 'empty-node-plugin');
writeFileSync(
  baseline,
  `${shebang}\nprocess.stdout.write('1|1|unix|' + process.env.PLUGIN_UNIX_SOCKET_DIR + '/none.sock|grpc\\n');\n` +
    `setInterval(() => {}, 1 << 30);\nprocess.on('SIGTERM', () => process.exit(0));\n`,
);
chmodSync(baseline, 0o755);
// The floor under any plugin built on grpc-js: node loads http2 (with tls, http, crypto, net) and listens
// on a unix socket in the directory go-plugin names, then prints the handshake line.
const floor = join(work, 'http2-listen-plugin');
writeFileSync(
  floor,
  `${shebang}
const dir = process.env.PLUGIN_UNIX_SOCKET_DIR;
` +
    `require('http2').createServer().listen(dir + '/floor.sock', () => ` +
    `process.stdout.write('1|1|unix|' + dir + '/floor.sock|grpc\\n'));
` +
    `process.on('SIGTERM', () => process.exit(0));
`,
);
chmodSync(floor, 0o755);
// An empty grpc-js server, bundled and minified as the plugins are (without their code cache and V8
// flags): it binds in the same directory and prints the handshake line.
const grpcServer = join(work, 'grpc-js-server-plugin');
await esbuild({
  stdin: {
    contents:
      `const grpc = require('@grpc/grpc-js');\nconst dir = process.env.PLUGIN_UNIX_SOCKET_DIR;\n` +
      `new grpc.Server().bindAsync('unix://' + dir + '/grpc.sock', grpc.ServerCredentials.createInsecure(), () =>\n` +
      `  process.stdout.write('1|1|unix|' + dir + '/grpc.sock|grpc\\n'));\n` +
      `process.on('SIGTERM', () => process.exit(0));\n`,
    resolveDir: root,
  },
  outfile: grpcServer,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  minify: true,
  keepNames: true,
  banner: { js: shebang },
  logLevel: 'error',
});
chmodSync(grpcServer, 0o755);

const HANDSHAKE = /^1\|1\|(unix|tcp)\|[^|]+\|grpc$/;

/**
 * CPU time so far (user + system, all threads, the launcher's exited ones too) from /proc/<pid>/stat, in
 * clock ticks of 10 ms: unlike the wall time it does not count waiting for a core on a loaded machine.
 */
function cpuMsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Bytes of the program's runtime: node for a shebang script, every file under lib/ beside a launcher. */
function runtimeBytes(file) {
  if (shebangOf(file)) return statSync(realpathSync(process.execPath)).size;
  const lib = join(dirname(file), 'lib');
  return readdirSync(lib).reduce((n, f) => n + statSync(join(lib, f)).size, 0);
}

/**
 * One start of `file` with `extraEnv`: resolves {ms, rssKiB, cpuMs, verifyMs} at the handshake line, after the
 * process has exited again.
 */
function startOnce(file, extraEnv = {}) {
  return new Promise((resolvePromise, reject) => {
    const sockDir = mkdtempSync(join(work, 'sock-'));
    const env = {
      ...process.env,
      NodeAttestor: 'NodeAttestor',
      PLUGIN_PROTOCOL_VERSIONS: '1',
      PLUGIN_MIN_PORT: '10000',
      PLUGIN_MAX_PORT: '25000',
      PLUGIN_UNIX_SOCKET_DIR: sockDir,
      ...extraEnv,
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
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.stdout.on('data', (d) => {
      if (result) return;
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const line = out.slice(0, nl);
      let rssKiB = NaN;
      let cpuMs = NaN;
      try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) rssKiB = Number(m[1]);
        cpuMs = cpuMsOf(child.pid);
      } catch {
        /* exited already: reported as NaN */
      }
      if (!HANDSHAKE.test(line)) {
        child.kill('SIGKILL');
        reject(new Error(`${file}: first stdout line is not a handshake: ${JSON.stringify(line)}`));
        return;
      }
      result = { ms, rssKiB, cpuMs };
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

const label = (p) => (relative(root, p).startsWith('..') ? p : relative(root, p));
// What is started: each program; a launcher also with its verification record off (it then hashes lib/
// at every start, as on the first start after boot or after any change to lib/, or when not run as root).
const variants = [
  { file: baseline, env: {}, name: 'empty node (baseline)' },
  ...(extraCaCerts
    ? [{ file: baseline, env: { NODE_EXTRA_CA_CERTS: extraCaCerts }, name: 'empty node, NODE_EXTRA_CA_CERTS set' }]
    : []),
  { file: floor, env: {}, name: 'node + http2 listening (grpc-js floor)' },
  { file: grpcServer, env: {}, name: 'empty grpc-js server, bundled' },
  ...programs.flatMap((file) => [
    { file, env: {}, name: label(file) },
    ...(shebangOf(file) ? [] : [{ file, env: { TPM_QUOTE_VERIFY_CACHE: 'off' }, name: `${label(file)}, record off` }]),
  ]),
];
const samples = new Map(variants.map((v) => [v, []]));
// Sizes now: the baseline's temp dir is gone when the table is printed.
const sizes = new Map(variants.map((v) => [v, { file: statSync(v.file).size, runtime: runtimeBytes(v.file) }]));
try {
  // One warm-up start each (page cache; the launcher's verification record), not counted.
  for (const v of variants) await startOnce(v.file, v.env);
  for (let i = 0; i < runs; i++) for (const v of variants) samples.get(v).push(await startOnce(v.file, v.env));
} finally {
  rmSync(work, { recursive: true, force: true });
}

const stats = (v) => {
  const s = samples.get(v);
  const verify = s.map((x) => x.verifyMs).filter((x) => x !== undefined);
  return {
    ms: median(s.map((x) => x.ms)),
    min: Math.min(...s.map((x) => x.ms)),
    max: Math.max(...s.map((x) => x.ms)),
    peakMiB: Math.max(...s.map((x) => x.rssKiB)) / 1024,
    cpuMs: s.reduce((a, x) => a + x.cpuMs, 0) / s.length,
    fileMiB: sizes.get(v).file / 2 ** 20,
    runtimeMiB: sizes.get(v).runtime / 2 ** 20,
    verifyMs: verify.length ? median(verify) : undefined,
  };
};
const base = stats(variants[0]);
const mib = (x) => x.toFixed(1).padStart(9);
const row = (name, s, ratio) =>
  `${name.padEnd(44)} ${mib(s.fileMiB)} ${mib(s.fileMiB + s.runtimeMiB).padStart(12)} ${s.ms.toFixed(1).padStart(9)} ` +
  `${`${s.min.toFixed(1)}-${s.max.toFixed(1)}`.padStart(13)} ${s.cpuMs.toFixed(0).padStart(11)} ` +
  `${s.peakMiB.toFixed(1).padStart(13)} ${ratio}`;
console.log(
  `plugin start -> handshake line, ${runs} runs each (node ${process.version}, ${process.platform}/${process.arch})`,
);
console.log(
  `${'program'.padEnd(44)} ${'file MiB'.padStart(9)} ${'with runtime'.padStart(12)} ${'median ms'.padStart(9)} ` +
    `${'min-max ms'.padStart(13)} ${'mean CPU ms'.padStart(11)} ${'peak RSS MiB'.padStart(13)} ` +
    'ratio vs empty node (time, RSS)',
);
const verifyNotes = [];
for (const v of variants) {
  const s = stats(v);
  console.log(row(v.name, s, `${(s.ms / base.ms).toFixed(2)}x, ${(s.peakMiB / base.peakMiB).toFixed(2)}x`));
  if (s.verifyMs !== undefined)
    verifyNotes.push(`${v.name}: median ${s.verifyMs.toFixed(2)} ms checking lib/ (part of its start time)`);
}
for (const n of verifyNotes) console.log(n);
console.log(
  extraCaCerts
    ? `NODE_EXTRA_CA_CERTS (${extraCaCerts}) was removed from every program's environment but the one row naming it`
    : 'NODE_EXTRA_CA_CERTS is not set here',
);

// Memory after use: each agent/server pair attests `attestations` times.
const pairs = programs
  .filter((p) => basename(p) === 'tpm-quote-agent')
  .map((agent) => ({ agent, server: join(dirname(agent), 'tpm-quote-server') }))
  .filter(({ server }) => programs.includes(server));
if (attestations > 0 && pairs.length > 0) await memoryAfterUse();

async function memoryAfterUse() {
  const { startSession, hostEnv, attest, Init, Config } = await loadTs(`
export { startSession, hostEnv } from './test/plugin/go-plugin-host';
export { attest } from './test/plugin/attest-pipe';
export { Init } from './proto/gen/spire/service/private/init/v1/init_pb';
export { Config } from './proto/gen/spire/service/common/config/v1/config_pb';
`);
  const dir = mkdtempSync(join(tmpdir(), 'tpmq-bench-attest-'));
  const fixture = join(root, 'test/helpers/swtpm-fixture.sh');
  const swtpmDir = join(dir, 'swtpm');
  const sessions = [];
  try {
    const vars = Object.fromEntries(
      execFileSync('bash', [fixture, 'start', swtpmDir], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const caFile = join(dir, 'ek-ca.pem');
    writeFileSync(caFile, readFileSync(vars.SWTPM_CA_ROOT, 'utf8') + readFileSync(vars.SWTPM_CA_ISSUER, 'utf8'));
    const status = (pid) => readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)[1]);
    const memory = (s) => {
      const t = status(s.proc.child.pid);
      return { rss: kib(t, 'VmRSS') / 1024, peak: kib(t, 'VmHWM') / 1024, cpu: cpuMsOf(s.proc.child.pid) };
    };
    console.log(`\nmemory after use: ${attestations} attestations in a row through each agent/server pair (swtpm)`);
    console.log(
      `${'program'.padEnd(44)} ${'after Configure: RSS / peak MiB'.padStart(32)} ${`after ${attestations}: RSS / peak MiB`.padStart(30)} ` +
        `${'CPU ms per attestation'.padStart(23)} ${'first Init / Configure / attestation ms'.padStart(40)} ${'CPU ms to there'.padStart(16)}`,
    );
    for (const pair of pairs) {
      const { agent, server } = pair;
      const timed = async (fn) => {
        const t0 = performance.now();
        await fn();
        return performance.now() - t0;
      };
      const configure = async (exe, hcl) => {
        const s = await startSession(exe, hostEnv({ TPM_QUOTE_LOG_LEVEL: 'warn' }));
        sessions.push(s);
        s.cpuAtHandshake = cpuMsOf(s.proc.child.pid);
        s.firstMs = [await timed(() => s.client(Init).init({ hostServiceNames: [] }))];
        s.firstMs.push(
          await timed(() =>
            s.client(Config).configure({ coreConfiguration: { trustDomain: 'example.org' }, hclConfiguration: hcl }),
          ),
        );
        return s;
      };
      // Each pair its own AK directory: every pair's first attestation creates its AK.
      const akDir = join(dir, `ak-${pairs.indexOf(pair)}`);
      const a = await configure(agent, `tpm = "${vars.SWTPM_TCTI}"\nak_data_dir = "${akDir}"\n`);
      const s = await configure(server, `ek_ca_path = "${caFile}"\n`);
      const before = [memory(a), memory(s)];
      for (let i = 0; i < attestations; i++) {
        const t0 = performance.now();
        const out = await attest(a, s);
        if (!out.attributes) throw new Error(`attestation ${i + 1} failed: ${JSON.stringify(out)}`);
        if (i === 0) {
          for (const x of [a, s]) {
            x.firstCpuMs = cpuMsOf(x.proc.child.pid) - x.cpuAtHandshake;
            x.firstMs.push(performance.now() - t0);
          }
        }
      }
      const after = [memory(a), memory(s)];
      for (const [k, exe] of [agent, server].entries()) {
        const fmt = (m) => `${m.rss.toFixed(1)} / ${m.peak.toFixed(1)}`;
        const cpu = (after[k].cpu - before[k].cpu) / attestations;
        const first = [a, s][k];
        console.log(
          `${label(exe).padEnd(44)} ${fmt(before[k]).padStart(32)} ${fmt(after[k]).padStart(30)} ${cpu.toFixed(1).padStart(23)} ` +
            `${first.firstMs
              .map((ms) => ms.toFixed(1))
              .join(' / ')
              .padStart(40)} ${String(first.firstCpuMs).padStart(16)}`,
        );
      }
      for (const x of sessions.splice(0)) await x.dispose();
    }
  } finally {
    for (const x of sessions) await x.dispose();
    try {
      execFileSync('bash', [fixture, 'stop', swtpmDir], { stdio: 'ignore' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
