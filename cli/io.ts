// What a subcommand reads and writes: the TPM (opened on demand from --tpm), files, stdout.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { DEFAULT_TRANSPORT, openTpm, parseTransportSpec, type TpmClient } from '../tpm';
import { badInput, usageError } from './exit-codes';

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Opens the TPM named by --tpm (the plugins' transport syntax), runs `fn`, closes it on every path. */
export async function withTpm<T>(spec: string | undefined, fn: (tpm: TpmClient) => Promise<T>): Promise<T> {
  const text = spec ?? DEFAULT_TRANSPORT;
  try {
    parseTransportSpec(text);
  } catch (err) {
    throw usageError(`--tpm: ${(err as Error).message}`);
  }
  const tpm = openTpm(text);
  try {
    return await fn(tpm);
  } finally {
    await tpm.close();
  }
}

/** Reads a file of at most `maxBytes` (checked before reading); the error names the option and the file. */
export function readInput(option: string, path: string, maxBytes: number): Buffer {
  try {
    const size = statSync(path).size;
    if (size > maxBytes) throw new Error(`${size} bytes, more than ${maxBytes}`);
    return readFileSync(path);
  } catch (err) {
    throw badInput(`${option} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
}

/** Writes `text` to --out's file, or to stdout without --out. */
export function writeOutput(io: Io, out: string | undefined, text: string): void {
  if (out === undefined) return io.stdout(text);
  try {
    writeFileSync(out, text, { mode: 0o644 });
  } catch (err) {
    throw badInput(`--out ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
