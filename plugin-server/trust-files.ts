// Trust material named by a config key (EK CA bundle, EK hash allowlist): a file, or every regular file of a
// directory (sorted, not recursive), each bounded in size before it is read.
import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parsePemCertificates } from "../tpm/verify/ek-cert";

/** Largest single trust file read (an allowlist of ~60k hashes, or a large CA bundle). */
export const MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024;

/** A problem with one trust file: the file is named, the caller prefixes the config key. */
export class TrustFileError extends Error {
  override readonly name = "TrustFileError";
}

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
    throw new TrustFileError(`cannot read ${path}: ${errno(err)}`, { cause: err });
  }
}

/** Reads one trust file as text, refusing files over `maxBytes` before reading them. */
export function readTrustFile(file: string, maxBytes = MAX_TRUST_FILE_BYTES): string {
  try {
    const size = statSync(file).size;
    if (size > maxBytes) throw new TrustFileError(`${file} is ${size} bytes, more than ${maxBytes}`);
    return readFileSync(file, "utf8");
  } catch (err) {
    if (err instanceof TrustFileError) throw err;
    throw new TrustFileError(`cannot read ${file}: ${errno(err)}`, { cause: err });
  }
}

/**
 * Loads a CA bundle: a PEM file, or a directory of PEM files. Every certificate in it is a trust anchor (roots
 * and intermediates such as swtpm's issuercert.pem alike). Throws TrustFileError naming the path when it is
 * unreadable or holds no certificate.
 */
export function loadCaBundle(path: string, maxBytes = MAX_TRUST_FILE_BYTES): X509Certificate[] {
  const certs = trustFilesOf(path).flatMap((f) => parsePemCertificates(readTrustFile(f, maxBytes), f));
  if (certs.length === 0) throw new TrustFileError(`${path}: no PEM certificate found`);
  return certs;
}
