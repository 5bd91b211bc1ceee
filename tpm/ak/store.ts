// The AK file store's file-system errors, each naming the directory or file and the cause. Node reports a
// recursive mkdir under a read-only mount as ENOENT (it retries the parent and keeps the last error), and a
// failed write (ENOSPC) without any path, so neither reaches the operator as it is.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Full disks and quotas: ResourceExhausted. Anything else the operator must fix first: FailedPrecondition. */
const EXHAUSTED = new Set(['ENOSPC', 'EDQUOT']);

/** The AK directory or an AK file could not be created, read or written. */
export class AkStoreError extends Error {
  override readonly name = 'AkStoreError';
  /** The errno name (EROFS, EACCES, ENOSPC, ...), or undefined for an error without one. */
  readonly errno: string | undefined;
  constructor(what: string, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException)?.code;
    super(`${what}: ${reason(cause)}`, { cause });
    this.errno = errno;
  }

  /** For plugin-sdk's error mapper (read structurally). */
  get failureClass(): 'exhausted' | 'precondition' {
    return this.errno !== undefined && EXHAUSTED.has(this.errno) ? 'exhausted' : 'precondition';
  }
}

/** "read-only file system (EROFS)": Node's description without the syscall and path it appends. */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== 'string') return String(err?.message ?? e);
  const text = String(err.message)
    .replace(new RegExp(`^${err.code}: `), '')
    .replace(/, \w+(?: '.*')?$/, '');
  return `${text} (${err.code})`;
}

/**
 * Creates `dir` (and its parents, mode 0700). On failure, names the directory and the real cause: the
 * first missing component is created on its own, so EROFS or EACCES is reported, not Node's ENOENT.
 */
export async function ensureAkDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return;
  } catch (e) {
    throw new AkStoreError(`AK directory ${dir}: cannot create it`, await firstMkdirError(dir, e));
  }
}

/** The error of creating the first missing component of `dir` by itself (`fallback` when there is none). */
async function firstMkdirError(dir: string, fallback: unknown): Promise<unknown> {
  let missing = dir;
  for (let up = dirname(missing); up !== missing; missing = up, up = dirname(up)) {
    const found = await stat(up).then(
      () => true,
      () => false,
    );
    if (found) break;
  }
  return mkdir(missing, { mode: 0o700 }).then(
    () => fallback,
    (e: unknown) => e,
  );
}

/** Writes `body` to `path` (mode 0600); a failure names the file (the caller removes what was written). */
export async function writeAkFile(path: string, body: string): Promise<void> {
  try {
    await writeFile(path, body, { mode: 0o600 });
  } catch (e) {
    throw new AkStoreError(`AK file ${path}: cannot write it`, e);
  }
}
