// The AK store's file-system errors on real file systems: each names the directory or file and the real
// cause, with the code the agent returns. A read-only directory is a read-only tmpfs mount when running as
// root (file modes do not stop root) and a chmod 0500 directory otherwise; /dev/full is a full disk.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, toPluginError } from '../../../../plugin-sdk';
import { AkStoreError, ensureAkDir, writeAkFile } from '../../../../tpm/ak/store';

const thrown = async (p: Promise<unknown>): Promise<AkStoreError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof AkStoreError)) throw new Error(`expected an AkStoreError, got ${String(e)}`);
  return e;
};
const codeOf = (e: unknown) => Code[toPluginError(e).code];

describe('AK store errors', () => {
  let work: string;
  beforeEach(() => (work = mkdtempSync(join(tmpdir(), 'tpmq-akstore-'))));
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  test('a read-only directory: the missing directory and EROFS/EACCES (not ENOENT), FailedPrecondition', async () => {
    const ro = join(work, 'ro');
    mkdirSync(ro);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]);
    else chmodSync(ro, 0o500);
    try {
      const dir = join(ro, 'spire', 'tpm_quote');
      const e = await thrown(ensureAkDir(dir));
      const cause = asRoot ? 'read-only file system (EROFS)' : 'permission denied (EACCES)';
      expect(e.message).toBe(`AK directory ${dir}: cannot create it: ${cause}`);
      expect(codeOf(e)).toBe('FAILED_PRECONDITION');
    } finally {
      if (asRoot) execFileSync('umount', [ro]);
      else chmodSync(ro, 0o700);
    }
  });

  test('a file where a directory should be: ENOTDIR naming the directory', async () => {
    writeFileSync(join(work, 'file'), '');
    const dir = join(work, 'file', 'tpm_quote');
    const e = await thrown(ensureAkDir(dir));
    expect(e.message).toBe(`AK directory ${dir}: cannot create it: not a directory (ENOTDIR)`);
    expect(codeOf(e)).toBe('FAILED_PRECONDITION');
  });

  test('an existing directory is accepted, and one is created with its parents', async () => {
    await ensureAkDir(work);
    await ensureAkDir(join(work, 'a', 'b'));
  });

  test('a full disk names the file being written, ResourceExhausted', async () => {
    const e = await thrown(writeAkFile('/dev/full', '{}'));
    expect(e.message).toBe('AK file /dev/full: cannot write it: no space left on device (ENOSPC)');
    expect(e.errno).toBe('ENOSPC');
    expect(codeOf(e)).toBe('RESOURCE_EXHAUSTED');
  });
});
