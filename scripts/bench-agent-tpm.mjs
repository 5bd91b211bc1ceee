#!/usr/bin/env node
// TPM commands and time per agent attestation, today's agent (main at 2a6633e, built from a temporary git
// worktree) beside this one, on one swtpm. Each attestation runs the TPM side of the agent plugin's stream
// (old: getInfo, readEk, loadOrCreateAk, activateCredential, PCR read, quote, PCR read as main's
// aid-attestation.ts calls them; new: beginAttestation, activateCredential, the same reads and quote, close),
// with the credential made in-process as the server makes it. Commands are counted by a TCP proxy in front
// of the swtpm (each command's header), so both builds are measured the same way.
// Scenarios: swtpm as provisioned (persistent RSA EK 0x81010001, AK file); persistent EK + persistent AK
// (ak_handle, new only); no persistent EK (evicted: the EK is derived by CreatePrimary).
// Usage: node scripts/bench-agent-tpm.mjs [runs, default 20]
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadTs, percentiles, repoRoot } from './lib/load-ts.mjs';

const runs = Number(process.argv[2] ?? 20);
const OLD_COMMIT = '2a6633e';
const entry = `
export { openTpm } from './tpm/client';
export { TPM_ALG_SHA256 } from './tpm/marshal/constants';
export { makeCredential } from './tpm/crypto/make-credential';
export { pcrSelection } from './tpm/types/pcr';
`;
const dir = mkdtempSync(join(tmpdir(), 'bench-agent-tpm-'));
const oldTree = join(dir, 'old');
execFileSync('git', ['-C', repoRoot, 'worktree', 'add', '--detach', oldTree, OLD_COMMIT], { stdio: 'ignore' });
const cleanup = () => {
  execFileSync('git', ['-C', repoRoot, 'worktree', 'remove', '--force', oldTree], { stdio: 'ignore' });
};
let swtpmDir;
try {
  const NEW = await loadTs(entry);
  const OLD = await loadTs(entry, oldTree);
  const fixture = join(repoRoot, 'test/helpers/swtpm-fixture.sh');
  swtpmDir = join(dir, 'swtpm');
  const vars = Object.fromEntries(
    execFileSync('bash', [fixture, 'start', swtpmDir], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const env = { ...process.env, TPM2TOOLS_TCTI: vars.SWTPM_TCTI };
  // Asynchronous: the proxy (same event loop) must keep relaying and closing connections meanwhile.
  const tools = (...args) => promisify(execFile)(args[0], args.slice(1), { env, cwd: dir });

  // The counting proxy: every TPM command crossing it (header: tag u16, size u32, code u32).
  const counts = { total: 0, createPrimary: 0 };
  const proxy = createServer((client) => {
    const up = createConnection({ host: '127.0.0.1', port: Number(vars.SWTPM_PORT) });
    let buf = Buffer.alloc(0);
    client.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 10 && buf.length >= buf.readUInt32BE(2)) {
        counts.total++;
        if (buf.readUInt32BE(6) === 0x131) counts.createPrimary++;
        buf = buf.subarray(buf.readUInt32BE(2));
      }
      up.write(d);
    });
    up.on('data', (d) => client.write(d));
    up.on('end', () => client.end());
    client.on('end', () => up.end());
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const spec = `swtpm:host=127.0.0.1,port=${proxy.address().port}`;
  const selection = (m) => [m.pcrSelection(m.TPM_ALG_SHA256, [0, 1, 2, 3, 4, 5, 6, 7])];

  // One attestation's TPM work as main's agent does it.
  async function oldAttest(m, akDir) {
    const tpm = m.openTpm(spec);
    await tpm.getInfo();
    const ek = await tpm.readEk('rsa');
    const ak = await tpm.loadOrCreateAk(akDir, 'rsa', { parent: 'ek', ek });
    const cred = m.makeCredential({ ekPublic: ek.public.value, objectName: ak.name, credential: randomBytes(32) });
    await tpm.activateCredential(ak, ek, cred.idObject, cred.encryptedSecret);
    await tpm.readPcrs(selection(m));
    await tpm.quote(ak, randomBytes(32), selection(m));
    await tpm.readPcrs(selection(m));
    await tpm.close();
  }
  // The same with this branch's agent: one session, keys loaded once.
  async function newAttest(m, akDir, akHandle) {
    const tpm = m.openTpm(spec);
    const { session } = await tpm.beginAttestation({
      ekChoice: 'rsa',
      maxIntermediates: 8,
      maxCertificateBytes: 4096,
      ak: akHandle ? { handle: akHandle } : { dataDir: akDir, alg: 'rsa' },
    });
    try {
      const cred = m.makeCredential({
        ekPublic: session.ek.public.value,
        objectName: session.ak.name,
        credential: randomBytes(32),
      });
      await session.activateCredential(cred.idObject, cred.encryptedSecret);
      await session.readPcrs(selection(m));
      await session.quote(randomBytes(32), selection(m));
      await session.readPcrs(selection(m));
    } finally {
      await session.close();
    }
    await tpm.close();
  }
  async function measure(label, fn) {
    await fn(); // warm-up: creates the AK file
    const cmds = [];
    const cps = [];
    const times = [];
    for (let i = 0; i < runs; i++) {
      counts.total = counts.createPrimary = 0;
      const t0 = process.hrtime.bigint();
      await fn();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      cmds.push(counts.total);
      cps.push(counts.createPrimary);
    }
    const t = percentiles(times);
    const c = percentiles(cmds);
    console.log(
      `${label.padEnd(48)} commands p50 ${String(c.p50).padStart(3)} (max ${Math.max(...cmds)})  CreatePrimary ${Math.max(...cps)}  time p50 ${t.p50.toFixed(1)} ms p95 ${t.p95.toFixed(1)} ms`,
    );
  }

  console.log(`bench-agent-tpm: ${runs} attestations per row (after one warm-up), swtpm, EK rsa, AK rsa`);
  await measure('old (2a6633e), persistent EK, AK file', () => oldAttest(OLD, join(dir, 'ak-old')));
  await measure('new, persistent EK, AK file', () => newAttest(NEW, join(dir, 'ak-new')));
  // A persistent AK (child of the persistent EK), as ak_handle.
  await tools(
    'tpm2_createak',
    '-C',
    '0x81010001',
    '-c',
    join(dir, 'ak.ctx'),
    '-G',
    'rsa',
    '-g',
    'sha256',
    '-s',
    'rsassa',
  );
  await tools('tpm2_evictcontrol', '-C', 'o', '-c', join(dir, 'ak.ctx'), '0x81000100');
  await tools('tpm2_flushcontext', '-t');
  await measure('new, persistent EK, persistent AK (ak_handle)', () => newAttest(NEW, '', 0x81000100));
  await tools('tpm2_evictcontrol', '-C', 'o', '-c', '0x81000100');
  await tools('tpm2_evictcontrol', '-C', 'o', '-c', '0x81010001');
  await measure('old (2a6633e), no persistent EK, AK file', () => oldAttest(OLD, join(dir, 'ak-old2')));
  await measure('new, no persistent EK, AK file', () => newAttest(NEW, join(dir, 'ak-new2')));
  proxy.close();
} finally {
  if (swtpmDir)
    execFileSync('bash', [join(repoRoot, 'test/helpers/swtpm-fixture.sh'), 'stop', swtpmDir], { stdio: 'ignore' });
  cleanup();
  rmSync(dir, { recursive: true, force: true });
}
