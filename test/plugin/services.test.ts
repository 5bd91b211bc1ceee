// SPIRE's Init/Config, go-plugin health/stdio and the NodeAttestor RPCs, over real gRPC.
import { Client, compressionAlgorithms, credentials, status } from '@grpc/grpc-js';
import { Init } from '../../proto/gen/spire/service/private/init/v1/init_pb';
import { Config } from '../../proto/gen/spire/service/common/config/v1/config_pb';
import { Health, HealthCheckResponse_ServingStatus } from '../../proto/gen/grpc/health/v1/health_pb';
import { GRPCStdio } from '../../proto/gen/plugin/grpc_stdio_pb';
import { NodeAttestor as AgentNodeAttestor } from '../../proto/gen/spire/plugin/agent/nodeattestor/v1/nodeattestor_pb';
import { NodeAttestor as ServerNodeAttestor } from '../../proto/gen/spire/plugin/server/nodeattestor/v1/nodeattestor_pb';
import { CHANNEL_OPTIONS, createServiceClient } from '../../plugin-sdk/grpc-adapter';
import { AGENT_EXE, SERVER_EXE, startSession, validPluginData, type Session } from './go-plugin-host';

const core = { trustDomain: 'example.org' };

async function rpcError(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code: number; details: string };
    return { code: e.code, details: e.details };
  }
  throw new Error('expected the call to fail');
}

const sides = [
  ['agent', AGENT_EXE, AgentNodeAttestor.typeName],
  ['server', SERVER_EXE, ServerNodeAttestor.typeName],
] as const;

describe.each(sides)('%s plugin services', (_side, exe, serviceName) => {
  let s: Session;
  beforeAll(async () => {
    s = await startSession(exe);
  });
  afterAll(async () => {
    await s.dispose();
  });

  test('Init answers exactly the NodeAttestor service and Config', async () => {
    const res = await s.client(Init).init({ hostServiceNames: ['spire.hostservice.common.metrics.v1.Metrics'] });
    expect(res.pluginServiceNames).toEqual([serviceName, 'spire.service.common.config.v1.Config']);
  });

  test.each([
    ['plugin', HealthCheckResponse_ServingStatus.SERVING],
    ['', HealthCheckResponse_ServingStatus.SERVING],
  ])('health of %j is SERVING', async (service, expected) => {
    expect((await s.client(Health).check({ service })).status).toBe(expected);
  });

  // The bundle loads zlib only on a compressed message's first use (scripts/lib/lazy-builtin.cjs).
  test('a gzip-compressed request is decompressed and answered', async () => {
    const gzip = new Client(`unix:${s.socketPath}`, credentials.createInsecure(), {
      ...CHANNEL_OPTIONS,
      'grpc.default_compression_algorithm': compressionAlgorithms.gzip,
    });
    try {
      const res = await createServiceClient(Health, gzip).check({ service: 'plugin' });
      expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      gzip.close();
    }
  });

  test('health Watch of "plugin" sends SERVING and stays open', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      try {
        for await (const m of s.client(Health).watch({ service: 'plugin' }, { signal: ac.signal })) seen.push(m.status);
        return 'ended';
      } catch (err) {
        return (err as { code?: number }).code === status.CANCELLED ? 'cancelled' : String(err);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    expect(await done).toBe('cancelled');
    expect(seen).toEqual([HealthCheckResponse_ServingStatus.SERVING]);
  });

  test('Deinit answers and the plugin keeps serving until Shutdown', async () => {
    await expect(s.client(Init).deinit({})).resolves.toBeDefined();
    expect((await s.client(Health).check({ service: 'plugin' })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });

  test('health of an unknown service is NotFound', async () => {
    const e = await rpcError(s.client(Health).check({ service: 'nope' }));
    expect(e.code).toBe(status.NOT_FOUND);
    expect(e.details).toMatch(/nope/);
  });

  test('stdio stream stays open and silent', async () => {
    const ac = new AbortController();
    const received: unknown[] = [];
    const reading = (async () => {
      try {
        for await (const m of s.client(GRPCStdio).streamStdio({}, { signal: ac.signal })) received.push(m);
        return 'ended';
      } catch (err) {
        return (err as { code?: number }).code === status.CANCELLED ? 'cancelled' : `error ${String(err)}`;
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    ac.abort();
    expect(await reading).toBe('cancelled');
    expect(received).toEqual([]);
  });

  // The exact wording belongs to each plugin's config schema; here: valid or not, and the note names the key.
  test.each([
    ['', true, null],
    ['# only a comment\n', true, null],
    ['log_level = "info"\n', true, null],
    ['bogus_key = "x"\n', false, /bogus_key/],
    ['log_level = 3\n', false, /log_level/],
  ])('Validate(minimal valid config + %j) -> valid=%s', async (extra, valid, note) => {
    const hcl = validPluginData(exe) + extra;
    const res = await s.client(Config).validate({ coreConfiguration: core, hclConfiguration: hcl });
    expect(res.valid).toBe(valid);
    if (note === null) expect(res.notes).toEqual([]);
    else {
      expect(res.notes).toHaveLength(1);
      expect(res.notes[0]).toMatch(note);
    }
  });

  test('Validate with a syntax error names line:column', async () => {
    const res = await s
      .client(Config)
      .validate({ coreConfiguration: core, hclConfiguration: validPluginData(exe) + 'log_level = "info\n' });
    expect(res.valid).toBe(false);
    expect(res.notes[0]).toMatch(/\d+:\d+/);
  });

  test('Configure accepts a good configuration', async () => {
    await expect(
      s
        .client(Config)
        .configure({ coreConfiguration: core, hclConfiguration: validPluginData(exe) + 'log_level = "debug"\n' }),
    ).resolves.toBeDefined();
  });

  test('Configure with an unknown key is InvalidArgument naming the key', async () => {
    const e = await rpcError(
      s.client(Config).configure({ coreConfiguration: core, hclConfiguration: 'no_such_key = true\n' }),
    );
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toMatch(/^invalid configuration: .*no_such_key/);
    expect(e.details).not.toMatch(/\n/);
  });

  test('Configure without a trust domain is InvalidArgument', async () => {
    const e = await rpcError(s.client(Config).configure({ hclConfiguration: '' }));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toMatch(/trust_domain/);
  });

  test('the process is still serving after the failed Configure (old config kept)', async () => {
    expect((await s.client(Health).check({ service: 'plugin' })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });
});

// The attestation bodies are filled in by the attestor work; what this layer owes is that a
// stream the plugin cannot serve ends with a deliberate gRPC code and a one-line message, never
// Internal/Unknown and never a stack trace. (Unconfigured, or not implemented yet.)
const DELIBERATE = [status.UNIMPLEMENTED, status.FAILED_PRECONDITION, status.INVALID_ARGUMENT];

async function streamError(it: AsyncIterable<unknown>): Promise<{ code: number; details: string }> {
  try {
    for await (const _ of it) {
      // an unconfigured plugin answers nothing
    }
  } catch (err) {
    return err as { code: number; details: string };
  }
  throw new Error('expected the stream to fail');
}

describe('attestation streams on an unconfigured plugin', () => {
  test('agent AidAttestation fails with a deliberate code', async () => {
    const s = await startSession(AGENT_EXE);
    try {
      const e = await streamError(s.client(AgentNodeAttestor).aidAttestation((async function* () {})()));
      expect(DELIBERATE).toContain(e.code);
      expect(e.details).toMatch(/^[^\n]+$/);
      expect(s.proc.child.exitCode).toBeNull();
    } finally {
      await s.dispose();
    }
  });

  test('server Attest with a one-byte payload fails with a deliberate code', async () => {
    const s = await startSession(SERVER_EXE);
    try {
      const e = await streamError(
        s.client(ServerNodeAttestor).attest(
          (async function* () {
            yield { request: { case: 'payload' as const, value: new Uint8Array([1]) } };
          })(),
        ),
      );
      expect(DELIBERATE).toContain(e.code);
      expect(e.details).toMatch(/^[^\n]+$/);
      expect(s.proc.child.exitCode).toBeNull();
    } finally {
      await s.dispose();
    }
  });
});
