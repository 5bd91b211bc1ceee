// A TPM character device (/dev/tpmrm0 through the kernel resource manager, or /dev/tpm0 directly):
// write one command, read one response.
import { open, type FileHandle } from 'node:fs/promises';
import { TpmUnavailableError } from '../errors';
import { responseSize } from './frame';
import type { RawSender } from './transport';

/**
 * Opens the device lazily on the first command and keeps it open. A read cannot be interrupted in the
 * kernel: on timeout or abort the handle is closed and re-opened for the next command.
 */
export function createDeviceTransport(path: string, name: string): RawSender {
  let fh: FileHandle | undefined;
  let closed = false;

  const drop = () => {
    const f = fh;
    fh = undefined;
    void f?.close().catch(() => undefined);
  };

  return {
    async send(command, { signal, maxResponseSize }) {
      if (closed) throw new TpmUnavailableError(name, 'transport is closed');
      if (!fh) {
        try {
          fh = await open(path, 'r+');
        } catch (e) {
          throw new TpmUnavailableError(name, `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
            cause: e,
          });
        }
      }
      const f = fh;
      const io = (async () => {
        await f.write(command, 0, command.length, null);
        const buf = new Uint8Array(maxResponseSize);
        const { bytesRead } = await f.read(buf, 0, buf.length, null);
        if (bytesRead < 10) throw new TpmUnavailableError(name, `short response (${bytesRead} bytes)`);
        const size = responseSize(buf, maxResponseSize, name);
        if (size !== bytesRead)
          throw new TpmUnavailableError(name, `response header says ${size} bytes, read ${bytesRead}`);
        return buf.slice(0, size);
      })();
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([io, aborted]);
      } catch (e) {
        drop();
        io.catch(() => undefined);
        if (e instanceof TpmUnavailableError) throw e;
        throw new TpmUnavailableError(name, `I/O error: ${(e as NodeJS.ErrnoException).code ?? e}`, { cause: e });
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      closed = true;
      drop();
    },
  };
}
