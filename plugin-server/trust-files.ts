// Trust material named by a config key (EK CA bundle, EK hash allowlist): a file, or every regular file of a
// directory (sorted, not recursive), each bounded in size before it is read.
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parsePemCertificates } from '../tpm';

/** Largest single trust file read (an allowlist of ~60k hashes, or a large CA bundle). */
export const MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024;

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/** The files a path names: itself, or a directory's regular files in sorted order. */
export function trustFilesOf(path: string): string[] {
  try {
    return statSync(path).isDirectory()
      ? readdirSync(path)
          .sort()
          .map((f) => join(path, f))
          .filter((f) => statSync(f).isFile())
      : [path];
  } catch (err) {
    throw new Error(`cannot read ${path}: ${errno(err)}`, { cause: err });
  }
}

/**
 * Reads one trust file as text, refusing files over `maxBytes` before reading them. Throws an Error naming
 * the file; the caller prefixes the config key (every problem here becomes a Configure note).
 */
export function readTrustFile(file: string, maxBytes = MAX_TRUST_FILE_BYTES): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new Error(`cannot read ${file}: ${errno(err)}`, { cause: err });
  }
  if (size > maxBytes) throw new Error(`${file} is ${size} bytes, more than ${maxBytes}`);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${errno(err)}`, { cause: err });
  }
}

/**
 * Loads a CA bundle: a PEM file, or a directory of PEM files. Every certificate in it is a trust anchor (roots
 * and intermediates such as swtpm's issuercert.pem alike). Throws an Error naming the path when it is
 * unreadable or holds no certificate.
 */
export function loadCaBundle(path: string, maxBytes = MAX_TRUST_FILE_BYTES): X509Certificate[] {
  const certs = trustFilesOf(path).flatMap((f) => parsePemCertificates(readTrustFile(f, maxBytes), f));
  if (certs.length === 0) throw new Error(`${path}: no PEM certificate found`);
  return certs;
}
