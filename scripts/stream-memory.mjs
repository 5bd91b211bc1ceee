#!/usr/bin/env node
// Memory of the BUILT server plugin (dist/tpm-quote-server, over go-plugin gRPC) under hostile streams:
// N (default 4000) Attest streams that send a valid payload (the captured swtpm EK certificate, EK and AK of
// test/fixtures/tpm, trusted through their CA), receive the challenge, then are cancelled. Prints the
// plugin's VmRSS every 1,000 streams and, from two heap snapshots (V8 runs a full GC before writing one;
// node's --heapsnapshot-signal), what grew between stream 200 and the end: the constructors whose live
// count or retained size went up most.
// Usage: node scripts/stream-memory.mjs [streams, default 4000] [--rss-only: no snapshots, whose own buffers
// count in VmRSS] [EXECUTABLE, default dist/tpm-quote-server; e.g. dist/tpm_quote/tpm-quote-server, the
// installed form with its own node flags, which ignores NODE_OPTIONS and so needs --rss-only].
// PLUGIN_NODE_OPTIONS adds node options for the plugin (e.g. --max-semi-space-size=1).
// Note: this host runs no go-plugin broker, so each attestation's host-service lookup waits out its timeout:
// those waiters (a Promise, a Timeout, a closure each) are live in the snapshot; under SPIRE they resolve.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadTs, repoRoot } from './lib/load-ts.mjs';

const total = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 4000);
const rssOnly = process.argv.includes('--rss-only');
const exe = resolve(
  process.argv.slice(2).find((a) => !/^\d+$/.test(a) && !a.startsWith('--')) ?? 'dist/tpm-quote-server',
);
const WARMUP = rssOnly ? Infinity : 200;

const { startSession, hostEnv, ServerNodeAttestor, Init, Config, queue, encodePayload } = await loadTs(`
export { startSession, hostEnv } from './test/plugin/go-plugin-host';
export { queue } from './test/plugin/attest-pipe';
export { NodeAttestor as ServerNodeAttestor } from './proto/gen/spire/plugin/server/nodeattestor/v1/nodeattestor_pb';
export { Init } from './proto/gen/spire/service/private/init/v1/init_pb';
export { Config } from './proto/gen/spire/service/common/config/v1/config_pb';
export { encodePayload } from './proto/tpmquote/protocol';
`);

const work = mkdtempSync(join(tmpdir(), 'tpmq-stream-memory-'));
const fx = (n) => new Uint8Array(readFileSync(join(repoRoot, 'test/fixtures/tpm', n)));
writeFileSync(
  join(work, 'ek-ca.pem'),
  readFileSync(join(repoRoot, 'test/fixtures/tpm/ca-root.pem'), 'utf8') +
    readFileSync(join(repoRoot, 'test/fixtures/tpm/ca-issuer.pem'), 'utf8'),
);
// ek_public and ak_public are bare TPMT_PUBLICs: the fixtures' TPM2B size prefix is dropped.
const payload = encodePayload({
  ekCertificate: fx('ek-rsa-cert.der'),
  ekPublic: fx('ek-rsa.pub').subarray(2),
  akPublic: fx('ak-rsa.pub').subarray(2),
});

// Heap snapshots land in the plugin's working directory: ours, the temp dir.
process.chdir(work);
const server = await startSession(
  exe,
  hostEnv({ NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 ${process.env.PLUGIN_NODE_OPTIONS ?? ''}`.trim() }),
);
const pid = server.proc.child.pid;
// An interrupted run must not leave the plugin behind (it does not exit when its host dies).
process.on('SIGINT', () => process.exit(130)).on('SIGTERM', () => process.exit(143));
process.on('exit', () => server.proc.child.kill('SIGKILL'));
await server.client(Init).init({ hostServiceNames: [] });
await server.client(Config).configure({
  coreConfiguration: { trustDomain: 'example.org' },
  hclConfiguration: `ek_ca_path = ${JSON.stringify(join(work, 'ek-ca.pem'))}\nlog_level = "warn"\n`,
});

const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

let shown = false;
/** One stream: payload, wait for the challenge, cancel. Resolves with whether a challenge came. */
async function cancelledStream() {
  const toServer = queue();
  const abort = new AbortController();
  toServer.push({ request: { case: 'payload', value: payload } });
  let challenged = false;
  try {
    for await (const m of server.client(ServerNodeAttestor).attest(toServer.iterable, { signal: abort.signal })) {
      if (m.response.case === 'challenge') {
        challenged = true;
        abort.abort();
      }
    }
  } catch (err) {
    // the cancellation itself; anything else is worth seeing once
    if (!abort.signal.aborted && !shown) {
      shown = true;
      console.log(`stream refused before its challenge: ${String(err?.details ?? err)}`);
    }
  }
  toServer.close();
  return challenged;
}

/** Writes a heap snapshot of the plugin (after V8's full GC) and returns constructor -> {count, size}. */
async function snapshot(label) {
  const before = new Set(readdirSync(work));
  process.kill(pid, 'SIGUSR2');
  let file;
  for (let i = 0; i < 600 && !file; i++) {
    await new Promise((r) => setTimeout(r, 100));
    file = readdirSync(work).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
  }
  if (!file) throw new Error(`no heap snapshot from pid ${pid}`);
  // The file is complete once it parses.
  let snap;
  for (let i = 0; i < 600 && !snap; i++) {
    try {
      snap = JSON.parse(readFileSync(join(work, file), 'utf8'));
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  rmSync(join(work, file));
  const f = snap.snapshot.meta.node_fields;
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((k) => f.indexOf(k));
  const types = snap.snapshot.meta.node_types[0];
  const by = new Map();
  for (let i = 0; i < snap.nodes.length; i += f.length) {
    const type = types[snap.nodes[i + iType]];
    const name = type === 'object' || type === 'closure' ? snap.strings[snap.nodes[i + iName]] : `(${type})`;
    const e = by.get(name) ?? { count: 0, size: 0 };
    e.count++;
    e.size += snap.nodes[i + iSize];
    by.set(name, e);
  }
  const live = [...by.values()].reduce((a, e) => a + e.size, 0);
  console.log(
    `heap snapshot ${label}: live JS heap ${(live / 2 ** 20).toFixed(1)} MiB; VmRSS ${rssKb()} KiB after the snapshot`,
  );
  return by;
}

console.log(`server plugin pid ${pid}: VmRSS ${rssKb()} KiB after Configure`);
let challenged = 0;
let base;
const t0 = Date.now();
for (let i = 1; i <= total; i++) {
  if (await cancelledStream()) challenged++;
  if (i === WARMUP) {
    console.log(`${String(i).padStart(6)} streams: VmRSS ${rssKb()} KiB`);
    base = await snapshot(`after ${WARMUP} streams`);
  }
  if (i % 1000 === 0)
    console.log(
      `${String(i).padStart(6)} streams: VmRSS ${rssKb()} KiB (${challenged} challenged, ${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
}
// The snapshot's own buffers count in VmRSS: the per-1,000 figures after stream WARMUP include them.
const end = rssOnly ? new Map() : await snapshot(`after ${total} streams`);
const growth = [...end]
  .map(([name, e]) => ({
    name,
    ...e,
    dCount: e.count - (base.get(name)?.count ?? 0),
    dSize: e.size - (base.get(name)?.size ?? 0),
  }))
  .sort((a, b) => b.dSize - a.dSize)
  .slice(0, 12);
if (!rssOnly) console.log(`live heap growth between stream ${WARMUP} and ${total} (by self size):`);
for (const g of growth)
  console.log(
    `  ${g.name.slice(0, 40).padEnd(40)} count ${String(g.dCount).padStart(7)}  bytes ${String(g.dSize).padStart(10)}`,
  );
await server.dispose();
rmSync(work, { recursive: true, force: true });
process.exit(challenged === total ? 0 : 1);
