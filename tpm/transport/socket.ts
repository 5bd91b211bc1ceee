// swtpm's data channel over TCP or a unix socket: raw TPM command/response bytes, no framing.
import { connect, type Socket } from 'node:net';
import { TpmUnavailableError } from '../errors';
import { responseSize } from './frame';
import type { RawSender } from './transport';

/** A connection that failed before any response byte arrived (wraps the error to report). */
class StaleConnection extends Error {
  constructor(readonly error: TpmUnavailableError) {
    super(error.message);
  }
}

type Address = { host: string; port: number } | { path: string };

/**
 * A swtpm socket sender. Without keepAlive each command uses a fresh connection (as swtpm serves one
 * client at a time); with keepAlive a dropped connection (e.g. swtpm restarted) is re-dialled on the next
 * command. A command whose connection breaks before any response byte fails; it is not re-sent.
 */
export function createSocketTransport(addr: Address, name: string, opts: { keepAlive: boolean }): RawSender {
  let sock: Socket | undefined;
  let closed = false;

  const dial = (signal: AbortSignal) =>
    new Promise<Socket>((resolve, reject) => {
      const s = 'path' in addr ? connect({ path: addr.path }) : connect({ host: addr.host, port: addr.port });
      s.setNoDelay(true);
      const onAbort = () => {
        s.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      s.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        s.removeAllListeners('error');
        s.on('error', () => undefined);
        resolve(s);
      });
      s.once('error', (e) => {
        signal.removeEventListener('abort', onAbort);
        s.destroy();
        reject(
          new TpmUnavailableError(name, `cannot connect: ${(e as NodeJS.ErrnoException).code ?? e.message}`, {
            cause: e,
          }),
        );
      });
    });

  const exchange = (s: Socket, command: Uint8Array, signal: AbortSignal, maxResponseSize: number) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let have = 0;
      let want = -1;
      const cleanup = () => {
        s.off('data', onData);
        s.off('close', onClose);
        s.off('error', onError);
        signal.removeEventListener('abort', onAbort);
      };
      const fail = (e: unknown) => {
        cleanup();
        s.destroy();
        reject(e);
      };
      const onData = (d: Buffer) => {
        chunks.push(d);
        have += d.length;
        try {
          if (want < 0 && have >= 10) want = responseSize(Buffer.concat(chunks).subarray(0, 10), maxResponseSize, name);
        } catch (e) {
          return fail(e);
        }
        if (want >= 0 && have >= want) {
          cleanup();
          if (have > want) {
            s.destroy();
            return reject(new TpmUnavailableError(name, `${have - want} bytes after the response`));
          }
          resolve(new Uint8Array(Buffer.concat(chunks, have)));
        }
      };
      const onClose = () => {
        const err = new TpmUnavailableError(
          name,
          have ? 'connection closed mid-response' : 'connection closed before a response',
        );
        fail(have ? err : new StaleConnection(err));
      };
      const onError = (e: Error) => {
        const err = new TpmUnavailableError(name, `socket error: ${(e as NodeJS.ErrnoException).code ?? e.message}`, {
          cause: e,
        });
        fail(have ? err : new StaleConnection(err));
      };
      const onAbort = () => fail(signal.reason);
      s.on('data', onData);
      s.on('close', onClose);
      s.on('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
      s.write(command);
    });

  return {
    async send(command, { signal, maxResponseSize }) {
      if (closed) throw new TpmUnavailableError(name, 'transport is closed');
      if (!opts.keepAlive) {
        const s = await dial(signal);
        try {
          return await exchange(s, command, signal, maxResponseSize);
        } catch (e) {
          throw e instanceof StaleConnection ? e.error : e;
        } finally {
          s.destroy();
        }
      }
      // A kept connection may have died since its last use (swtpm restarted) without our having seen the
      // close yet: if it fails before any response byte, dial again and send once more. The command cannot
      // have run twice: the old peer is gone.
      for (let attempt = 0; ; attempt++) {
        const reused = sock !== undefined && !sock.destroyed && sock.readyState === 'open';
        if (!reused) {
          sock?.destroy();
          sock = await dial(signal);
          const mine = sock;
          mine.once('close', () => {
            if (sock === mine) sock = undefined;
          });
        }
        try {
          return await exchange(sock!, command, signal, maxResponseSize);
        } catch (e) {
          sock?.destroy();
          sock = undefined;
          if (reused && attempt === 0 && e instanceof StaleConnection && !signal.aborted) continue;
          throw e instanceof StaleConnection ? e.error : e;
        }
      }
    },
    async close() {
      closed = true;
      sock?.destroy();
      sock = undefined;
    },
  };
}
