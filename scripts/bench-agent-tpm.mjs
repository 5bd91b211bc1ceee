#!/usr/bin/env node
// TPM commands and time per agent attestation, side by side on one swtpm: the agent before issue 9 (main at
// 2a6633e), the attestation session without identity cache (main at 668ed30), and this tree, the first
// attestation of a plugin process (identity read), a repeat one (identity cached, confirmed by ReadPublic), and
// the first one after a restart (identity read back from the cache file the previous process wrote).
// Older builds come from temporary git worktrees. Each attestation runs the TPM side of the agent plugin's
// stream as that build's aid-attestation.ts does (2a6633e: getInfo, readEk, loadOrCreateAk,
// activateCredential, PCR read, quote, PCR read; 668ed30: beginAttestation, activateCredential, PCR read,
// quote, PCR read, close; this tree: beginAttestation (with the cached identity), activateCredential, quote
// then one PCR read checked against it, close), with the credential made in-process as the server makes it.
// Commands are counted by a TCP proxy in front of the swtpm (each command's header), so every build is
// measured the same way, FlushContext included.
// Scenarios: swtpm as provisioned (persistent RSA EK 0x81010001, AK file); persistent EK + persistent AK
// (ak_handle; 668ed30 and later); no persistent EK (evicted: the EK is derived by CreatePrimary).
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
const SESSION_COMMIT = '668ed30';
const entry = `
export { openTpm } from './tpm/client';
export { TPM_ALG_SHA256 } from './tpm/marshal/constants';
export { makeCredential } from './tpm/crypto/make-credential';
export { pcrSelection } from './tpm/types/pcr';
`;
// This tree only: the agent's identity cache and its file.
const cacheEntry = `
export { createIdentityCache, identityKey } from './plugin-agent/identity-cache';
export { identityFilePath } from './plugin-agent/identity-file';
`;
const dir = mkdtempSync(join(tmpdir(), 'bench-agent-tpm-'));
const oldTree = join(dir, 'old');
const sessionTree = join(dir, 'session');
for (const [tree, commit] of [
  [oldTree, OLD_COMMIT],
  [sessionTree, SESSION_COMMIT],
])
  execFileSync('git', ['-C', repoRoot, 'worktree', 'add', '--detach', tree, commit], { stdio: 'ignore' });
const cleanup = () => {
  for (const tree of [oldTree, sessionTree])
    execFileSync('git', ['-C', repoRoot, 'worktree', 'remove', '--force', tree], { stdio: 'ignore' });
};
let swtpmDir;
try {
  const NEW = await loadTs(entry + cacheEntry);
  const OLD = await loadTs(entry, oldTree);
  const SESSION = await loadTs(entry, sessionTree);
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
  // One attestation session, keys loaded once (668ed30 and this tree). `cache.identity`, when set, is the
  // identity an earlier attestation read (this tree only), and is replaced by this one's.
  async function sessionAttest(m, akDir, akHandle, cache) {
    const tpm = m.openTpm(spec);
    const opened = await tpm.beginAttestation({
      ekChoice: 'rsa',
      maxIntermediates: 8,
      maxCertificateBytes: 4096,
      ak: akHandle ? { handle: akHandle } : { dataDir: akDir, alg: 'rsa' },
      cached: cache?.identity,
    });
    const { session } = opened;
    try {
      const cred = m.makeCredential({
        ekPublic: session.ek.public.value,
        objectName: session.ak.name,
        credential: randomBytes(32),
      });
      await session.activateCredential(cred.idObject, cred.encryptedSecret);
      if (session.quoteAndRead) await session.quoteAndRead(randomBytes(32), selection(m), 3);
      else {
        // 668ed30: PCR reads bracket the quote.
        await session.readPcrs(selection(m));
        await session.quote(randomBytes(32), selection(m));
        await session.readPcrs(selection(m));
      }
    } finally {
      await session.close();
    }
    if (cache) {
      if (cache.identity && !opened.fromCache) throw new Error(`cached identity not used: ${opened.cacheMiss}`);
      cache.identity = opened.identity;
    }
    await tpm.close();
  }
  // This tree, both ways: a plugin process's first attestation, and a repeat one.
  const first = (akDir, akHandle) => sessionAttest(NEW, akDir, akHandle);
  const repeat = (akDir, akHandle) => {
    const cache = {};
    return () => sessionAttest(NEW, akDir, akHandle, cache);
  };
  // This tree, a plugin process's first attestation after a restart: a new cache (as in a new process) reads
  // the identity the previous one persisted in `cacheDir` (file read and strict parse included in the time).
  const afterRestart = (cacheDir, akDir, akHandle) => async () => {
    const file = NEW.identityFilePath(cacheDir);
    const key = NEW.identityKey({ bench: akDir || akHandle });
    const cache = NEW.createIdentityCache();
    const found = await cache.lookup(key, 3_600_000, file);
    const holder = { identity: found.identity };
    await sessionAttest(NEW, akDir, akHandle, holder);
    // The warm-up reads the identity and persists it, as the agent's first attestation does.
    if (!found.identity) await cache.fill(key, holder.identity, { resetCount: 0, firmwareVersion: 0n }, file);
  };
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

  // This tree's rows for one AK source: first attestation, repeat, and first after a restart (cache file in `cacheDir`).
  async function measureNow(akDir, akHandle, cacheDir) {
    await measure('  now, first attestation (identity read)', () => first(akDir, akHandle));
    await measure('  now, repeat attestation (identity cached)', repeat(akDir, akHandle));
    await measure('  now, first after restart (persisted cache)', afterRestart(cacheDir, akDir, akHandle));
  }

  console.log(
    `bench-agent-tpm: ${runs} attestations per row (after one warm-up), swtpm, EK rsa, AK rsa, PCRs sha256:0-7`,
  );
  console.log('-- persistent EK (0x81010001), AK file');
  await measure(`  ${OLD_COMMIT} (before issue 9)`, () => oldAttest(OLD, join(dir, 'ak-old')));
  await measure(`  ${SESSION_COMMIT} (session, no cache)`, () => sessionAttest(SESSION, join(dir, 'ak-s')));
  await measureNow(join(dir, 'ak-new'), undefined, join(dir, 'id-1'));
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
  console.log('-- persistent EK, persistent AK (ak_handle 0x81000100)');
  await measure(`  ${SESSION_COMMIT} (session, no cache)`, () => sessionAttest(SESSION, '', 0x81000100));
  await measureNow('', 0x81000100, join(dir, 'id-2'));
  await tools('tpm2_evictcontrol', '-C', 'o', '-c', '0x81000100');
  await tools('tpm2_evictcontrol', '-C', 'o', '-c', '0x81010001');
  console.log('-- no persistent EK (derived by CreatePrimary), AK file');
  await measure(`  ${OLD_COMMIT} (before issue 9)`, () => oldAttest(OLD, join(dir, 'ak-old2')));
  await measure(`  ${SESSION_COMMIT} (session, no cache)`, () => sessionAttest(SESSION, join(dir, 'ak-s2')));
  await measureNow(join(dir, 'ak-new2'), undefined, join(dir, 'id-3'));
  proxy.close();
} finally {
  if (swtpmDir)
    execFileSync('bash', [join(repoRoot, 'test/helpers/swtpm-fixture.sh'), 'stop', swtpmDir], { stdio: 'ignore' });
  cleanup();
  rmSync(dir, { recursive: true, force: true });
}
