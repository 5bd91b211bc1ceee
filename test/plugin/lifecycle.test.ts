// Unload and signals: Shutdown exits fast even with open streams; SIGTERM exits cleanly; SIGINT is ignored.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { status } from '@grpc/grpc-js';
import { GRPCController } from '../../proto/gen/plugin/grpc_controller_pb';
import { GRPCBroker, type ConnInfo } from '../../proto/gen/plugin/grpc_broker_pb';
import { GRPCStdio } from '../../proto/gen/plugin/grpc_stdio_pb';
import { Health, HealthCheckResponse_ServingStatus } from '../../proto/gen/grpc/health/v1/health_pb';
import { Init } from '../../proto/gen/spire/service/private/init/v1/init_pb';
import { AGENT_EXE, SERVER_EXE, exitWithin, startSession, type Session } from './go-plugin-host';

/** Opens the long-lived streams go-plugin keeps (broker + stdio); swallows their end. */
function openHostStreams(s: Session): () => void {
  const ac = new AbortController();
  // A request stream that sends nothing and ends when the test closes it.
  const never: AsyncIterable<ConnInfo> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        new Promise<IteratorResult<ConnInfo>>((r) =>
          ac.signal.addEventListener('abort', () => r({ done: true, value: undefined })),
        ),
    }),
  };
  const drain = async (it: AsyncIterable<unknown>) => {
    try {
      for await (const _ of it) {
        // nothing expected
      }
    } catch {
      // the plugin going away ends these streams
    }
  };
  void drain(s.client(GRPCBroker).startStream(never, { signal: ac.signal }));
  void drain(s.client(GRPCStdio).streamStdio({}, { signal: ac.signal }));
  return () => ac.abort();
}

describe.each([
  ['agent', AGENT_EXE],
  ['server', SERVER_EXE],
])('%s lifecycle', (_side, exe) => {
  test('Controller.Shutdown with open broker and stdio streams: gone within 2 s, socket dir removed', async () => {
    const s = await startSession(exe);
    const close = openHostStreams(s);
    try {
      await s.client(Init).init({ hostServiceNames: [] });
      await new Promise((r) => setTimeout(r, 200)); // streams established
      const t0 = Date.now();
      await s.client(GRPCController).shutdown({});
      const exit = await exitWithin(s.proc, 2_000);
      const elapsed = Date.now() - t0;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(elapsed).toBeLessThan(2_000);
      expect(existsSync(s.socketPath)).toBe(false);
      expect(existsSync(dirname(s.socketPath))).toBe(false);
    } finally {
      close();
      await s.dispose();
    }
  });

  test('SIGTERM: clean exit 0, socket dir removed', async () => {
    const s = await startSession(exe);
    const close = openHostStreams(s);
    try {
      s.proc.child.kill('SIGTERM');
      expect(await exitWithin(s.proc, 2_000)).toEqual({ code: 0, signal: null });
      expect(existsSync(dirname(s.socketPath))).toBe(false);
    } finally {
      close();
      await s.dispose();
    }
  });

  test('SIGINT is ignored: still serving afterwards', async () => {
    const s = await startSession(exe);
    try {
      s.proc.child.kill('SIGINT');
      expect(await exitWithin(s.proc, 500)).toBe('timeout');
      expect((await s.client(Health).check({ service: 'plugin' })).status).toBe(
        HealthCheckResponse_ServingStatus.SERVING,
      );
    } finally {
      await s.dispose();
    }
  });

  test('after Shutdown the socket refuses new calls', async () => {
    const s = await startSession(exe);
    try {
      await s.client(GRPCController).shutdown({});
      await exitWithin(s.proc, 2_000);
      await expect(s.client(Health).check({ service: 'plugin' }, { timeoutMs: 1_000 })).rejects.toMatchObject({
        code: expect.any(Number),
      });
      const err = await s
        .client(Health)
        .check({ service: 'plugin' }, { timeoutMs: 1_000 })
        .catch((e: { code: number }) => e);
      expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain((err as { code: number }).code);
    } finally {
      await s.dispose();
    }
  });
});
