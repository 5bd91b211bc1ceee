// The node's TCG event log as the agent sends it: read whole from event_log_path, bounded. The agent never
// judges it (the server replays it against the quote); a node without a log sends none.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { MAX_EVENT_LOG_BYTES } from '../proto';
import { PluginError } from '../plugin-sdk';

/** Where Linux exposes the firmware's event log (securityfs). */
export const DEFAULT_EVENT_LOG_PATH = '/sys/kernel/security/tpm0/binary_bios_measurements';

/** What reading the log found: its bytes, or why there are none (for the agent's log line). */
export type EventLogRead = { bytes: Uint8Array } | { absent: string };

// securityfs reports size 0 for the log, so the file is read in chunks until EOF, one byte past the bound.
function readBounded(fd: number, max: number): Uint8Array {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, max + 1 - total));
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
    if (total > max) break;
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}

/**
 * Reads the event log at `path` ("" = never send one). A missing file (no TPM event log on this node, or no
 * securityfs) is `absent`: the server decides whether a log is required. Anything else that keeps the file from
 * being read (a directory, no permission, over MAX_EVENT_LOG_BYTES) is FailedPrecondition naming the file and
 * the config key, so a log that exists is never silently dropped.
 */
export function readEventLog(path: string, max = MAX_EVENT_LOG_BYTES): EventLogRead {
  if (path === '') return { absent: 'event_log_path is ""' };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { absent: `${path} does not exist` };
    throw PluginError.failedPrecondition(`event_log_path: cannot open ${path}: ${(err as Error).message}`, err);
  }
  try {
    if (!fstatSync(fd).isFile()) throw PluginError.failedPrecondition(`event_log_path: ${path} is not a regular file`);
    const bytes = readBounded(fd, max);
    if (bytes.length > max)
      throw PluginError.failedPrecondition(
        `event_log_path: ${path} is over ${max} bytes (the protocol's bound for an event log)`,
      );
    if (bytes.length === 0) return { absent: `${path} is empty` };
    return { bytes };
  } catch (err) {
    if (err instanceof PluginError) throw err;
    throw PluginError.failedPrecondition(`event_log_path: cannot read ${path}: ${(err as Error).message}`, err);
  } finally {
    closeSync(fd);
  }
}
