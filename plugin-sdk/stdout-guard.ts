import { writeSync } from 'node:fs';
import { format } from 'node:util';

let installed = false;

/**
 * Keeps stdout for the go-plugin handshake only: console.* and any stray
 * process.stdout.write go to stderr from now on. Idempotent.
 */
export function installStdoutGuard(): void {
  if (installed) return;
  installed = true;
  const toStderr = (...args: unknown[]) => {
    process.stderr.write(`${format(...args)}\n`);
  };
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.trace = toStderr;
  console.dir = toStderr;
  console.table = toStderr;
  // Anything else that grabs process.stdout (libraries) lands on stderr too.
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
}

/** Writes the handshake line straight to fd 1 (bypassing the guard), synchronously. */
export function writeHandshakeLine(line: string): void {
  writeSync(1, line);
}
