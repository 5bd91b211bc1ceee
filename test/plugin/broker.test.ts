// Broker: the test plays SPIRE's host-services server (AgentStore + Metrics on a unix socket),
// announces it as ConnInfo{service_id: 1} on StartStream and checks the server plugin calls it.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { GRPCBroker, ConnInfoSchema, type ConnInfo } from '../../proto/gen/plugin/grpc_broker_pb';
import { Init } from '../../proto/gen/spire/service/private/init/v1/init_pb';
import { Config } from '../../proto/gen/spire/service/common/config/v1/config_pb';
import {
  AgentStore,
  type GetAgentInfoRequest,
} from '../../proto/gen/spire/hostservice/server/agentstore/v1/agentstore_pb';
import { Metrics, type IncrCounterRequest } from '../../proto/gen/spire/hostservice/common/metrics/v1/metrics_pb';
import { addService } from '../../plugin-sdk/grpc-adapter';
import { PluginError } from '../../plugin-sdk/plugin-error';
import { SERVER_EXE, startSession, tempDir, validPluginData, waitForLog, type Session } from './go-plugin-host';

interface HostServer {
  socketPath: string;
  agentStoreCalls: GetAgentInfoRequest[];
  counterCalls: IncrCounterRequest[];
  stop(): void;
}

async function startHostServices(opts: { agentStoreReadyAfter: number }): Promise<HostServer> {
  const dir = tempDir('tpmq-host-');
  const socketPath = join(dir, 'host.sock');
  const server = new grpc.Server();
  const agentStoreCalls: GetAgentInfoRequest[] = [];
  const counterCalls: IncrCounterRequest[] = [];
  addService(server, AgentStore, {
    async getAgentInfo(req) {
      agentStoreCalls.push(req);
      // like spire-server: FailedPrecondition until the AgentStore is initialised, then NotFound
      if (agentStoreCalls.length <= opts.agentStoreReadyAfter)
        throw PluginError.failedPrecondition('AgentStore host service has not been initialized');
      throw new PluginError(grpc.status.NOT_FOUND, 'no such node');
    },
  });
  addService(server, Metrics, {
    async incrCounter(req) {
      counterCalls.push(req);
      return {};
    },
    async addSample() {
      return {};
    },
    async emitKey() {
      return {};
    },
    async measureSince() {
      return {};
    },
    async setGauge() {
      return {};
    },
  });
  await new Promise<void>((res, rej) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())),
  );
  return {
    socketPath,
    agentStoreCalls,
    counterCalls,
    stop() {
      server.forceShutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An open StartStream whose outgoing side the test controls. */
function openBroker(s: Session) {
  const queue: ConnInfo[] = [];
  let wake: (() => void) | undefined;
  const ac = new AbortController();
  async function* outgoing() {
    while (!ac.signal.aborted) {
      const next = queue.shift();
      if (next) yield next;
      else await new Promise<void>((r) => (wake = r));
    }
  }
  const incoming = s.client(GRPCBroker).startStream(outgoing(), { signal: ac.signal });
  const ended = (async () => {
    try {
      for await (const _ of incoming) {
        // the plugin offers no brokered services of its own
      }
      return 'ended';
    } catch (err) {
      return `error ${(err as { code?: number }).code}`;
    }
  })();
  return {
    send(info: ConnInfo) {
      queue.push(info);
      wake?.();
    },
    ended,
    close() {
      ac.abort();
      wake?.();
    },
  };
}

const HOST_NAMES = ['spire.hostservice.server.agentstore.v1.AgentStore', 'spire.hostservice.common.metrics.v1.Metrics'];

describe.each([
  ['after Init and Configure', false],
  ['before Init', true],
])('server plugin reaches host services via broker ConnInfo sent %s', (_when, beforeInit) => {
  test('calls AgentStore.GetAgentInfo and Metrics.IncrCounter and logs what it reached', async () => {
    const host = await startHostServices({ agentStoreReadyAfter: 2 });
    const s = await startSession(SERVER_EXE);
    const broker = openBroker(s);
    try {
      const info = create(ConnInfoSchema, { serviceId: 1, network: 'unix', address: host.socketPath });
      if (beforeInit) broker.send(info);
      await s.client(Init).init({ hostServiceNames: HOST_NAMES });
      await s.client(Config).configure({
        coreConfiguration: { trustDomain: 'example.org' },
        hclConfiguration: validPluginData(SERVER_EXE),
      });
      if (!beforeInit) broker.send(info);

      const line = await waitForLog(s.proc, 'reached host services');
      expect(line['@level']).toBe('debug');
      expect(line.services).toBe(HOST_NAMES.join(','));
      expect(line.count).toBe(2);
      expect(line.agentstore_answer).toBe('NOT_FOUND');
      expect(line.metrics_answer).toBe('OK');
      // FailedPrecondition twice (host not ready), then NotFound: the probe retried
      expect(host.agentStoreCalls).toHaveLength(3);
      expect(host.agentStoreCalls[0].agentId).toMatch(/^spiffe:\/\/[^/]+\/spire\/agent\/tpm_quote\//);
      expect(host.counterCalls).toHaveLength(1);
      expect(host.counterCalls[0].key).toEqual(['tpm_quote', 'host_service_probe']);
      expect(host.counterCalls[0].val).toBe(1);

      const brokerLog = await waitForLog(s.proc, 'go-plugin broker connection info');
      expect(brokerLog).toMatchObject({ service_id: 1, network: 'unix', address: host.socketPath });
    } finally {
      broker.close();
      await s.dispose();
      host.stop();
    }
  });
});

test('a host-services server that does not answer is logged as not reached (not a crash)', async () => {
  const s = await startSession(SERVER_EXE);
  const broker = openBroker(s);
  try {
    const dir = tempDir('tpmq-nohost-');
    broker.send(create(ConnInfoSchema, { serviceId: 1, network: 'unix', address: join(dir, 'nobody.sock') }));
    const line = await waitForLog(s.proc, 'reached host services', 30_000);
    expect(line.count).toBe(0);
    expect(line.services).toBe('');
    expect(String(line.agentstore_answer)).toMatch(/^UNAVAILABLE/);
    expect(s.proc.child.exitCode).toBeNull();
    rmSync(dir, { recursive: true, force: true });
  } finally {
    broker.close();
    await s.dispose();
  }
});
