// Services registered from their method tables (proto/gen/services.ts): the table matches the descriptors,
// nothing is built until a message is (de)serialised, a deferred implementation is made on the first call,
// and a call then round-trips over a real unix socket as with the descriptor itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { services } from '../../../proto/gen/services';
import type { StaticService } from '../../../proto/static-service';
import * as adapter from '../../../plugin-sdk/grpc-adapter';

/** The Health table entry, counting its loads. */
function countingHealth() {
  const entry = services['grpc.health.v1.Health'];
  const counted = { loads: 0 };
  const service: typeof entry = {
    ...entry,
    load: () => {
      counted.loads++;
      return entry.load();
    },
  };
  return { service, counted };
}

test.each(Object.entries(services))('%s: the table has the descriptor type name and methods', (name, entry) => {
  const desc = (entry as StaticService).load();
  expect(desc.typeName).toBe(name);
  expect(entry.typeName).toBe(name);
  expect(entry.methods).toEqual(
    desc.methods.map((m) => ({ name: m.name, localName: m.localName, methodKind: m.methodKind })),
  );
});

test('a definition from the table has the paths and stream flags, and loads the descriptor on first use', () => {
  const { service, counted } = countingHealth();
  const def = adapter.grpcServiceDefinition(service);
  expect(def.check.path).toBe('/grpc.health.v1.Health/Check');
  expect([def.watch.requestStream, def.watch.responseStream]).toEqual([false, true]);
  expect(counted.loads).toBe(0);
  const bytes = def.check.requestSerialize({ service: 'plugin' });
  expect([...bytes]).toEqual([0x0a, 6, ...Buffer.from('plugin')]);
  expect(def.check.requestDeserialize(bytes)).toMatchObject({ service: 'plugin' });
  expect(counted.loads).toBe(1);
});

/** Sets up a server with `add` on a fresh unix socket, runs `use` with a client channel, then tears down. */
async function withServer(
  add: (server: grpc.Server) => void,
  use: (client: grpc.Client) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-services-'));
  const server = new grpc.Server();
  add(server);
  const sock = join(dir, 's.sock');
  await new Promise<void>((res, rej) =>
    server.bindAsync(`unix:${sock}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())),
  );
  const client = adapter.dialInsecure(adapter.grpcTarget('unix', sock));
  try {
    await use(client);
  } finally {
    client.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('served from the table with a deferred implementation: made once, on the first call', async () => {
  const { service, counted } = countingHealth();
  let made = 0;
  await withServer(
    (server) =>
      adapter.addService(server, service, () => {
        made++;
        return {
          async check(req) {
            return { status: req.service === 'plugin' ? 1 : 3 };
          },
          async *watch() {
            yield { status: 1 };
          },
        };
      }),
    async (client) => {
      expect([made, counted.loads]).toEqual([0, 0]);
      const health = adapter.createServiceClient(services['grpc.health.v1.Health'], client);
      expect((await health.check({ service: 'plugin' })).status).toBe(1);
      expect((await health.check({ service: 'other' })).status).toBe(3);
      expect(made).toBe(1);
      expect(counted.loads).toBe(1);
    },
  );
});

test('a deferred implementation missing a method fails the call, naming the method', async () => {
  const service = services['grpc.health.v1.Health'];
  await withServer(
    (server) => adapter.addService(server, service, () => ({ async check() {} }) as never),
    async (client) => {
      await expect(adapter.createServiceClient(service, client).check({ service: '' })).rejects.toMatchObject({
        code: grpc.status.INTERNAL,
        details: expect.stringContaining('/grpc.health.v1.Health/Watch'),
      });
    },
  );
});
