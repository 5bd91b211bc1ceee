// The AK file store's file-system helpers (bounded read, atomic replace; the agent's identity cache file uses
// them too) and errors, each naming the directory or file and the cause. Node reports a
// recursive mkdir under a read-only mount as ENOENT (it retries the parent and keeps the last error), and a
// failed write (ENOSPC) without any path, so neither reaches the operator as it is.
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
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
export async function writeAkFile(path: string, body: string, label = 'AK file'): Promise<void> {
  try {
    await writeFile(path, body, { mode: 0o600 });
  } catch (e) {
    throw new AkStoreError(`${label} ${path}: cannot write it`, e);
  }
}

/**
 * Replaces `path` with `body` (mode 0600) through a temporary file renamed over it, so a reader never sees
 * half a file; the temporary file is removed on failure (a full disk keeps nothing). Errors name `label` and
 * the file.
 */
export async function replaceStoreFile(path: string, body: string, label: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeAkFile(tmp, body, label);
    await rename(tmp, path).catch((e: unknown) => {
      throw new AkStoreError(`${label} ${path}: cannot replace it with ${tmp}`, e);
    });
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * The text of `path`, or undefined when it does not exist. Its size is checked before it is read: larger
 * than `maxBytes` throws (plain Error naming the file); a file-system error throws AkStoreError naming it.
 */
export async function readStoreFile(path: string, maxBytes: number, label: string): Promise<string | undefined> {
  try {
    const { size } = await stat(path);
    if (size > maxBytes) throw new Error(`${label} ${path}: ${size} bytes, larger than ${maxBytes}`);
    return await readFile(path, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') return undefined;
    if (errno !== undefined) throw new AkStoreError(`${label} ${path}: cannot read it`, e);
    throw e;
  }
}
