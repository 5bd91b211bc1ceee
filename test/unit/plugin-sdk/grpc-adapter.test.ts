// The protobuf-es <-> grpc-js adapter, in-process over a real unix socket: every method kind,
// error conversion at the boundary, and cancellation reaching handlers as an AbortSignal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Health, HealthCheckResponse_ServingStatus } from '../../../proto/gen/grpc/health/v1/health_pb';
import { GRPCBroker, type ConnInfo } from '../../../proto/gen/plugin/grpc_broker_pb';
import { Metrics } from '../../../proto/gen/spire/hostservice/common/metrics/v1/metrics_pb';
import {
  addService,
  createServiceClient,
  dialInsecure,
  grpcServiceDefinition,
  grpcTarget,
} from '../../../plugin-sdk/grpc-adapter';
import { PluginError } from '../../../plugin-sdk/plugin-error';

let dir: string;
let server: grpc.Server;
let client: grpc.Client;
const errors: Array<[string, unknown]> = [];
const aborted: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'adapter-'));
  server = new grpc.Server();
  const onError = (method: string, err: unknown) => errors.push([method, err]);
  addService(
    server,
    Health,
    {
      async check(req) {
        if (req.service === 'bug') throw new Error('exploded\n    at somewhere (file.ts:1:2)');
        if (req.service === 'denied') throw PluginError.permissionDenied('pcr 7: value not allowed');
        return { status: HealthCheckResponse_ServingStatus.SERVING };
      },
      async *watch(req, ctx) {
        yield { status: HealthCheckResponse_ServingStatus.SERVING };
        if (req.service === 'fail-after-one') throw PluginError.unavailable('tpm: gone');
        await new Promise((r) => ctx.signal.addEventListener('abort', r));
        aborted.push(ctx.method);
      },
    },
    onError,
  );
  addService(
    server,
    GRPCBroker,
    {
      async *startStream(requests) {
        // echo each ConnInfo back with service_id + 100
        for await (const info of requests) yield { ...info, serviceId: info.serviceId + 100 };
      },
    },
    onError,
  );
  const sock = join(dir, 's.sock');
  await new Promise<void>((res, rej) =>
    server.bindAsync(`unix:${sock}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())),
  );
  client = dialInsecure(grpcTarget('unix', sock));
});

afterAll(() => {
  client.close();
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

test('service definition: paths, stream flags and binary round trip', () => {
  const def = grpcServiceDefinition(GRPCBroker);
  expect(def.startStream.path).toBe('/plugin.GRPCBroker/StartStream');
  expect([def.startStream.requestStream, def.startStream.responseStream]).toEqual([true, true]);
  const health = grpcServiceDefinition(Health);
  expect(health.check.path).toBe('/grpc.health.v1.Health/Check');
  expect([health.watch.requestStream, health.watch.responseStream]).toEqual([false, true]);
  const bytes = health.check.requestSerialize({ service: 'plugin' });
  expect([...bytes]).toEqual([0x0a, 6, ...Buffer.from('plugin')]); // field 1, wire type 2
  expect(health.check.requestDeserialize(bytes)).toMatchObject({ service: 'plugin' });
  expect(Object.keys(grpcServiceDefinition(Metrics)).sort()).toEqual([
    'addSample',
    'emitKey',
    'incrCounter',
    'measureSince',
    'setGauge',
  ]);
});

test('unary OK', async () => {
  const res = await createServiceClient(Health, client).check({ service: 'x' });
  expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
});

test.each([
  ['denied', grpc.status.PERMISSION_DENIED, 'pcr 7: value not allowed'],
  ['bug', grpc.status.INTERNAL, 'internal error: exploded'],
])('unary error %s -> code %s with message %j (observer sees the original)', async (service, code, details) => {
  errors.length = 0;
  await expect(createServiceClient(Health, client).check({ service })).rejects.toMatchObject({ code, details });
  expect(errors).toHaveLength(1);
  expect(errors[0][0]).toBe('/grpc.health.v1.Health/Check');
});

test('bidi stream: async iterables both ways, in order', async () => {
  async function* out() {
    for (let i = 1; i <= 3; i++) yield { serviceId: i, network: 'unix', address: `/s${i}` };
  }
  const got: ConnInfo[] = [];
  for await (const m of createServiceClient(GRPCBroker, client).startStream(out())) got.push(m);
  expect(got.map((m) => [m.serviceId, m.address])).toEqual([
    [101, '/s1'],
    [102, '/s2'],
    [103, '/s3'],
  ]);
});

test('server stream error after a message arrives as the status', async () => {
  const got: number[] = [];
  let err: { code?: number; details?: string } | undefined;
  try {
    for await (const m of createServiceClient(Health, client).watch({ service: 'fail-after-one' })) got.push(m.status);
  } catch (e) {
    err = e as typeof err;
  }
  expect(got).toEqual([HealthCheckResponse_ServingStatus.SERVING]);
  expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'tpm: gone' });
});

test("client cancellation aborts the handler's signal", async () => {
  const ac = new AbortController();
  const it = createServiceClient(Health, client).watch({ service: '' }, { signal: ac.signal })[Symbol.asyncIterator]();
  expect((await it.next()).value.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  ac.abort();
  await expect(it.next()).rejects.toMatchObject({ code: grpc.status.CANCELLED });
  for (let i = 0; i < 50 && !aborted.includes('/grpc.health.v1.Health/Watch'); i++)
    await new Promise((r) => setTimeout(r, 20));
  expect(aborted).toContain('/grpc.health.v1.Health/Watch');
});

test('deadline', async () => {
  const it = createServiceClient(Health, client).watch({ service: '' }, { timeoutMs: 100 });
  await expect(
    (async () => {
      for await (const _ of it) {
        // first message, then waits until the deadline
      }
    })(),
  ).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
});

test.each([
  ['unix', '/a/b.sock', 'unix:/a/b.sock'],
  ['tcp', '127.0.0.1:1234', '127.0.0.1:1234'],
])('grpcTarget(%s, %s)', (network, address, target) => {
  expect(grpcTarget(network, address)).toBe(target);
});

test('grpcTarget refuses other networks', () => {
  expect(() => grpcTarget('udp', 'x')).toThrow(/unsupported network "udp"/);
});
