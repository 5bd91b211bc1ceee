// One way to talk to a TPM: send a command's bytes, get its response's bytes. Transports are chosen by
// tpm2-tools style strings and serialise commands per TPM.
import { MAX_RESPONSE_SIZE } from '../marshal/constants';
import { TpmUnavailableError } from '../errors';
import { createDeviceTransport } from './device';
import { createSocketTransport } from './socket';

export { responseSize } from './frame';

export interface SendOptions {
  /** Aborts a queued command (never sent) or an in-flight one on a socket (connection dropped). */
  signal?: AbortSignal;
  /** Overrides the transport's per-command timeout (milliseconds). */
  timeoutMs?: number;
}

/** A connection to one TPM. `send` is serialised: one command at a time per TPM. */
export interface TpmTransport {
  /** The spec it was opened with, e.g. `swtpm:host=127.0.0.1,port=2321`; used in error messages. */
  readonly name: string;
  /** Sends one complete command and resolves with the complete response (header size checked). */
  send(command: Uint8Array, options?: SendOptions): Promise<Uint8Array>;
  /** Releases the connection; later sends fail with TpmUnavailableError. */
  close(): Promise<void>;
}

export interface TransportOptions {
  /** Per-command timeout in milliseconds (default 60000; key generation on a real TPM can take seconds). */
  timeoutMs?: number;
  /** Largest response accepted, checked against the header size field (default 8192). */
  maxResponseSize?: number;
  /** swtpm only: keep one connection open between commands (default false: swtpm serves one client at a
   * time, so holding its socket would block tpm2-tools and other processes). */
  keepAlive?: boolean;
}

export type TransportSpec =
  { kind: 'device'; path: string } | { kind: 'swtpm'; host: string; port: number } | { kind: 'swtpm'; path: string };

export const DEFAULT_TRANSPORT = 'device:/dev/tpmrm0';

/**
 * Parses a tpm2-tools style TCTI string: `device:/dev/tpmrm0` (the default, also for ''), `device:PATH`,
 * `swtpm:host=H,port=P` (defaults localhost, 2321), `swtpm:path=SOCKET` (unix socket).
 */
export function parseTransportSpec(spec: string): TransportSpec {
  const s = spec.trim() || DEFAULT_TRANSPORT;
  const colon = s.indexOf(':');
  const kind = colon < 0 ? s : s.slice(0, colon);
  const rest = colon < 0 ? '' : s.slice(colon + 1);
  if (kind === 'device') return { kind, path: rest || '/dev/tpmrm0' };
  if (kind === 'swtpm') {
    const kv = new Map<string, string>();
    for (const part of rest.split(',').filter(Boolean)) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new Error(`TPM transport "${spec}": expected key=value, got "${part}"`);
      const key = part.slice(0, eq);
      if (!['host', 'port', 'path'].includes(key)) throw new Error(`TPM transport "${spec}": unknown option "${key}"`);
      kv.set(key, part.slice(eq + 1));
    }
    const path = kv.get('path');
    if (path !== undefined) {
      if (kv.has('host') || kv.has('port')) throw new Error(`TPM transport "${spec}": path excludes host and port`);
      if (!path) throw new Error(`TPM transport "${spec}": empty path`);
      return { kind, path };
    }
    const port = Number(kv.get('port') ?? '2321');
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`TPM transport "${spec}": bad port`);
    return { kind, host: kv.get('host') || 'localhost', port };
  }
  throw new Error(`TPM transport "${spec}": unknown kind "${kind}" (expected device: or swtpm:)`);
}

/** A raw, unserialised sender; `openTransport` wraps it with the per-TPM queue and timeout. */
export interface RawSender {
  send(command: Uint8Array, ctx: { signal: AbortSignal; maxResponseSize: number }): Promise<Uint8Array>;
  close(): Promise<void>;
}

// One connection and one queue per TPM (per spec string), shared by every transport opened to it in this
// process: swtpm serves one connection at a time, so two connections from one process could deadlock, and
// a TPM runs one command at a time anyway. The first opener's keepAlive choice wins.
const shared = new Map<string, { raw: RawSender; tail: Promise<unknown>; users: number }>();

/**
 * Opens a transport from a spec string (see parseTransportSpec). Commands are queued so only one is in
 * flight per TPM; each has a timeout after which it fails with TpmUnavailableError naming the transport.
 */
export function openTransport(spec: string = DEFAULT_TRANSPORT, options: TransportOptions = {}): TpmTransport {
  const parsed = parseTransportSpec(spec);
  const name = spec.trim() || DEFAULT_TRANSPORT;
  const timeoutMs = options.timeoutMs ?? 60000;
  const maxResponseSize = options.maxResponseSize ?? MAX_RESPONSE_SIZE;
  let entry = shared.get(name);
  if (!entry) {
    const raw: RawSender =
      parsed.kind === 'device'
        ? createDeviceTransport(parsed.path, name)
        : createSocketTransport(
            'path' in parsed ? { path: parsed.path } : { host: parsed.host, port: parsed.port },
            name,
            {
              keepAlive: options.keepAlive ?? false,
            },
          );
    entry = { raw, tail: Promise.resolve(), users: 0 };
    shared.set(name, entry);
  }
  entry.users++;
  const queue = entry;
  const raw = queue.raw;
  let closed = false;

  return {
    name,
    send(command, sendOptions = {}) {
      if (closed) return Promise.reject(new TpmUnavailableError(name, 'transport is closed'));
      const run = async (): Promise<Uint8Array> => {
        const outer = sendOptions.signal;
        if (outer?.aborted)
          throw new TpmUnavailableError(name, 'command aborted before it was sent', { cause: outer.reason });
        if (closed) throw new TpmUnavailableError(name, 'transport is closed');
        const ac = new AbortController();
        const limit = sendOptions.timeoutMs ?? timeoutMs;
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          ac.abort(new TpmUnavailableError(name, `no response within ${limit} ms`));
        }, limit);
        const onAbort = () => ac.abort(new TpmUnavailableError(name, 'command aborted', { cause: outer?.reason }));
        outer?.addEventListener('abort', onAbort, { once: true });
        try {
          return await raw.send(command, { signal: ac.signal, maxResponseSize });
        } catch (e) {
          if (timedOut || ac.signal.aborted) throw ac.signal.reason;
          throw e;
        } finally {
          clearTimeout(timer);
          outer?.removeEventListener('abort', onAbort);
        }
      };
      const result = queue.tail.then(run, run);
      queue.tail = result.catch(() => undefined);
      return result;
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue.tail;
      if (--queue.users === 0) {
        if (shared.get(name) === queue) shared.delete(name);
        await raw.close();
      }
    },
  };
}
