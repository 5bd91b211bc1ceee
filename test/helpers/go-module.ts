// Real-world test data inside Go modules (design notes, section 10): fetched at test time through the Go
// module proxy with `go mod download -json`, read from the module cache, never copied into this repository.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The module cache directory of `module@version`, downloading it first when needed. Throws naming the module. */
export function goModuleDir(module: string, version: string): string {
  // Outside any go.mod, so no module file is read or touched.
  const cwd = mkdtempSync(join(tmpdir(), 'tpmq-gomod-'));
  try {
    const out = execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GOFLAGS: '-mod=mod' },
    });
    const info = JSON.parse(out) as { Dir?: string; Error?: string };
    if (info.Error || !info.Dir)
      throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no Dir in the answer'}`);
    return info.Dir;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`go mod download ${module}@${version} failed: ${e.stderr || e.stdout || e.message}`, {
      cause: err,
    });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
