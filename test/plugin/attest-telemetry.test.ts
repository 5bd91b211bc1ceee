// Telemetry: the server plugin sends attestation counters (by result and reason) and latency to SPIRE's
// Metrics host service, reached through the go-plugin broker; without host services attestation is not delayed.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { GRPCBroker, ConnInfoSchema, type ConnInfo } from '../../proto/gen/plugin/grpc_broker_pb';
import { Init } from '../../proto/gen/spire/service/private/init/v1/init_pb';
import { Config } from '../../proto/gen/spire/service/common/config/v1/config_pb';
import {
  Metrics,
  type AddSampleRequest,
  type IncrCounterRequest,
  type MeasureSinceRequest,
} from '../../proto/gen/spire/hostservice/common/metrics/v1/metrics_pb';
import { addService } from '../../plugin-sdk/grpc-adapter';
import { startSwtpm, type Swtpm } from '../helpers/swtpm';
import { AGENT_EXE, SERVER_EXE, startSession, type Session } from './go-plugin-host';
import { attest, startAgent, startServer, tpm2, TRUST_DOMAIN } from './attest-pipe';

async function startMetricsHost(dir: string) {
  const socketPath = join(dir, 'host.sock');
  const server = new grpc.Server();
  const counters: IncrCounterRequest[] = [];
  const latencies: MeasureSinceRequest[] = [];
  const samples: AddSampleRequest[] = [];
  addService(server, Metrics, {
    async incrCounter(req) {
      counters.push(req);
      return {};
    },
    async measureSince(req) {
      latencies.push(req);
      return {};
    },
    async addSample(req) {
      samples.push(req);
      return {};
    },
    async emitKey() {
      return {};
    },
    async setGauge() {
      return {};
    },
  });
  await new Promise<void>((res, rej) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())),
  );
  return { socketPath, counters, latencies, samples, stop: () => server.forceShutdown() };
}

/** Opens StartStream and announces one ConnInfo, as SPIRE's broker does. */
function announce(s: Session, info: ConnInfo) {
  const ac = new AbortController();
  async function* outgoing() {
    yield info;
    await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }));
  }
  const incoming = s.client(GRPCBroker).startStream(outgoing(), { signal: ac.signal });
  void (async () => {
    try {
      for await (const _ of incoming) {
        // nothing brokered back
      }
    } catch {
      // cancelled at the end of the test
    }
  })();
  return () => ac.abort();
}

const label = (r: { labels: Array<{ name: string; value: string }> }, name: string) =>
  r.labels.find((l) => l.name === name)?.value;

async function until(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
}

describe('attestation telemetry through the Metrics host service', () => {
  let swtpm: Swtpm;
  let dir: string;
  let agent: Session;
  let ekHash: string;

  beforeAll(async () => {
    swtpm = startSwtpm();
    dir = mkdtempSync(join(tmpdir(), 'tpmq-telemetry-'));
    tpm2(swtpm, ['tpm2_nvread', '0x01c00002', '-o', join(dir, 'ek.der')]);
    const cert = new X509Certificate(readFileSync(join(dir, 'ek.der')));
    ekHash = createHash('sha256')
      .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    writeFileSync(join(dir, 'allowed.txt'), `${ekHash}\n`);
    writeFileSync(join(dir, 'others.txt'), `${'1'.repeat(64)}\n`);
    agent = await startAgent(`tpm = "${swtpm.transportSpec}"\nak_data_dir = "${join(dir, 'ak')}"\n`);
  });
  afterAll(async () => {
    await agent?.dispose();
    swtpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('success and refusal are counted with result/reason labels, and their latency measured', async () => {
    const host = await startMetricsHost(dir);
    const s = await startSession(SERVER_EXE);
    const stopBroker = announce(s, create(ConnInfoSchema, { serviceId: 1, network: 'unix', address: host.socketPath }));
    try {
      await s.client(Init).init({ hostServiceNames: ['spire.hostservice.common.metrics.v1.Metrics'] });
      await s.client(Config).configure({
        coreConfiguration: { trustDomain: TRUST_DOMAIN },
        hclConfiguration: `ek_hash_path = "${join(dir, 'allowed.txt')}"\n`,
      });
      const startedNs = BigInt(Date.now()) * 1_000_000n;
      const ok = await attest(agent, s);
      expect(ok.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`);
      await s.client(Config).configure({
        coreConfiguration: { trustDomain: TRUST_DOMAIN },
        hclConfiguration: `ek_hash_path = "${join(dir, 'others.txt')}"\n`,
      });
      const refused = await attest(agent, s);
      expect(refused.serverError?.code).toBe(grpc.status.PERMISSION_DENIED);

      const ours = () => host.counters.filter((c) => c.key.join('.') === 'tpm_quote.attestation');
      await until(() => ours().length >= 2 && host.latencies.length >= 2);
      expect(ours().map((c) => [label(c, 'result'), label(c, 'reason'), c.val])).toEqual([
        ['success', 'none', 1],
        ['failure', 'ek_trust', 1],
      ]);
      expect(host.latencies.map((m) => [m.key.join('.'), label(m, 'result')])).toEqual([
        ['tpm_quote.attestation.duration', 'success'],
        ['tpm_quote.attestation.duration', 'failure'],
      ]);
      for (const m of host.latencies) {
        // MeasureSince carries the start time in Unix nanoseconds: after the test began, before now.
        expect(m.time).toBeGreaterThanOrEqual(startedNs - 1_000_000_000n);
        expect(m.time).toBeLessThanOrEqual(BigInt(Date.now()) * 1_000_000n);
      }
    } finally {
      stopBroker();
      await s.dispose();
      host.stop();
    }
  });

  test('no host services at all: attestation is not held up by telemetry', async () => {
    const s = await startSession(SERVER_EXE);
    try {
      await s.client(Init).init({ hostServiceNames: ['spire.hostservice.common.metrics.v1.Metrics'] });
      await s.client(Config).configure({
        coreConfiguration: { trustDomain: TRUST_DOMAIN },
        hclConfiguration: `ek_hash_path = "${join(dir, 'allowed.txt')}"\n`,
      });
      const t0 = Date.now();
      const out = await attest(agent, s);
      expect(out.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`);
      // The host-services wait is 2 s; the attestation must not include it.
      expect(Date.now() - t0).toBeLessThan(1_500);
    } finally {
      await s.dispose();
    }
  });

  // An agent plugin whose metrics go to a host service, and a server plugin trusting the swtpm's EK.
  async function withAgentMetrics(
    fn: (a: Session, server: Session, host: Awaited<ReturnType<typeof startMetricsHost>>) => Promise<void>,
  ) {
    const host = await startMetricsHost(dir);
    const server = await startServer(`ek_hash_path = "${join(dir, 'allowed.txt')}"\n`);
    const a = await startSession(AGENT_EXE);
    const stopBroker = announce(a, create(ConnInfoSchema, { serviceId: 1, network: 'unix', address: host.socketPath }));
    try {
      await a.client(Init).init({ hostServiceNames: ['spire.hostservice.common.metrics.v1.Metrics'] });
      await fn(a, server, host);
    } finally {
      stopBroker();
      await a.dispose();
      await server.dispose();
      host.stop();
    }
  }

  test('the agent plugin counts its attestations (by failed TPM step, or a refused challenge) and its time in the TPM', async () => {
    await withAgentMetrics(async (a, server, host) => {
      const configure = (tpm: string) =>
        a.client(Config).configure({
          coreConfiguration: { trustDomain: TRUST_DOMAIN },
          hclConfiguration: `tpm = "${tpm}"\nak_data_dir = "${join(dir, 'ak2')}"\n`,
        });
      await configure(swtpm.transportSpec);
      expect((await attest(a, server)).attributes?.spiffeId).toBe(
        `spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`,
      );
      // A TPM nobody listens on: the first TPM step fails.
      await configure('swtpm:host=127.0.0.1,port=1');
      expect((await attest(a, server)).agentError?.code).toBe(grpc.status.UNAVAILABLE);
      // A challenge that is not ours: refused before the TPM sees it, and counted too.
      await configure(swtpm.transportSpec);
      expect(
        (await attest(a, server, { replaceChallenge: () => new Uint8Array([0xff, 0xff, 0xff]) })).agentError?.code,
      ).toBe(grpc.status.INVALID_ARGUMENT);

      const ours = () => host.counters.filter((c) => c.key.join('.') === 'tpm_quote.attestation');
      await until(() => ours().length >= 3 && host.samples.length >= 3);
      expect(ours().map((c) => [label(c, 'result'), label(c, 'step')])).toEqual([
        ['success', 'none'],
        ['failure', 'tpm_info'],
        ['failure', 'challenge'],
      ]);
      expect(host.latencies.map((m) => [m.key.join('.'), label(m, 'result')])).toEqual([
        ['tpm_quote.attestation.duration', 'success'],
        ['tpm_quote.attestation.duration', 'failure'],
        ['tpm_quote.attestation.duration', 'failure'],
      ]);
      const tpmMs = host.samples.filter((m) => m.key.join('.') === 'tpm_quote.attestation.tpm_ms');
      expect(tpmMs.map((m) => label(m, 'result'))).toEqual(['success', 'failure', 'failure']);
      expect(tpmMs[0].val).toBeGreaterThan(0);
    });
  });

  test('the agent plugin reuses the TPM identity across streams (identity label), and a failed attestation drops it', async () => {
    await withAgentMetrics(async (a, server, host) => {
      await a.client(Config).configure({
        coreConfiguration: { trustDomain: TRUST_DOMAIN },
        hclConfiguration: `tpm = "${swtpm.transportSpec}"\nak_data_dir = "${join(dir, 'ak3')}"\n`,
      });
      const ok = async () =>
        expect((await attest(a, server)).attributes?.spiffeId).toBe(
          `spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`,
        );
      await ok();
      await ok();
      // A refused challenge fails the attestation: the next one reads the identity again.
      expect(
        (await attest(a, server, { replaceChallenge: () => new Uint8Array([0xff, 0xff, 0xff]) })).agentError?.code,
      ).toBe(grpc.status.INVALID_ARGUMENT);
      await ok();
      await ok();
      const commands = () => host.samples.filter((m) => m.key.join('.') === 'tpm_quote.attestation.tpm_commands');
      await until(() => commands().length >= 5);
      const seen = commands().map((m) => [label(m, 'result'), label(m, 'identity')]);
      expect(seen).toEqual([
        ['success', 'read'],
        ['success', 'cached'],
        ['failure', 'cached'],
        ['success', 'read'],
        ['success', 'cached'],
      ]);
      const [read, cached] = commands().map((m) => m.val);
      expect(cached).toBeLessThan(read);
      const createPrimary = host.samples.filter((m) => m.key.join('.') === 'tpm_quote.attestation.tpm_create_primary');
      expect(createPrimary.map((m) => m.val)).toEqual([0, 0, 0, 0, 0]);
    });
  });

  test('a restarted agent plugin confirms the identity kept in ak_data_dir: its first attestation is cached; a bad or unwritable file only costs the full path', async () => {
    const akDir = join(dir, 'ak4');
    const cacheFile = join(akDir, 'tpm-identity-cache.json');
    // One agent plugin process: configure, attest `n` times, report each attestation's identity label and commands.
    const run = (n: number) => {
      const seen: Array<[string | undefined, string | undefined, number]> = [];
      return withAgentMetrics(async (a, server, host) => {
        await a.client(Config).configure({
          coreConfiguration: { trustDomain: TRUST_DOMAIN },
          hclConfiguration: `tpm = "${swtpm.transportSpec}"\nak_data_dir = "${akDir}"\n`,
        });
        for (let i = 0; i < n; i++)
          expect((await attest(a, server)).attributes?.spiffeId).toBe(
            `spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`,
          );
        const commands = () => host.samples.filter((m) => m.key.join('.') === 'tpm_quote.attestation.tpm_commands');
        await until(() => commands().length >= n);
        for (const m of commands()) seen.push([label(m, 'result'), label(m, 'identity'), m.val]);
      }).then(() => seen);
    };
    const first = await run(2);
    expect(first.map(([r, id]) => [r, id])).toEqual([
      ['success', 'read'],
      ['success', 'cached'],
    ]);
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);
    // Restarted: the identity comes from the file, confirmed on the TPM, as many commands as an in-process repeat.
    const restarted = await run(1);
    expect(restarted).toEqual([['success', 'cached', first[1][2]]]);
    // A corrupt file: the full path, and the file rewritten by it.
    writeFileSync(cacheFile, '{"version":1');
    expect((await run(1)).map(([r, id]) => [r, id])).toEqual([['success', 'read']]);
    expect(JSON.parse(readFileSync(cacheFile, 'utf8')).version).toBe(1);
    // Nowhere to write it (a directory in its place): attestation still succeeds, cached in memory only.
    rmSync(cacheFile);
    mkdirSync(cacheFile);
    expect((await run(2)).map(([r, id]) => [r, id])).toEqual([
      ['success', 'read'],
      ['success', 'cached'],
    ]);
    expect((await run(1)).map(([r, id]) => [r, id])).toEqual([['success', 'read']]);
  });
});
