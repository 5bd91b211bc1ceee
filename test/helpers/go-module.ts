// Real-world test data inside Go modules (design notes, section 10): fetched at test time through the Go
// module proxy with `go mod download -json`, read from the module cache, never copied into this repository.
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';

const dirs = new Map<string, string>();

/**
 * The module cache directory of `module@version`, downloading it on first use (e.g. on a fresh CI machine).
 * Throws naming the module.
 */
export function goModuleDir(moduleAtVersion: string): string {
  let dir = dirs.get(moduleAtVersion);
  if (!dir) {
    let out: string;
    try {
      // Outside any go.mod, so nothing in the repository is read or changed.
      out = execFileSync('go', ['mod', 'download', '-json', moduleAtVersion], {
        cwd: tmpdir(),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, GOFLAGS: '-mod=mod' },
      });
    } catch (e) {
      const err = e as { code?: string; stdout?: string; stderr?: string; message: string };
      // go prints a JSON object with Error on stdout when the module cannot be fetched.
      if (!err.stdout)
        throw new Error(
          `go mod download ${moduleAtVersion}: ${err.code === 'ENOENT' ? 'go is not on PATH (scripts/install-spire.sh installs it)' : err.stderr || err.message}`,
          { cause: e },
        );
      out = err.stdout;
    }
    const info = JSON.parse(out) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new Error(`go mod download ${moduleAtVersion}: ${info.Error ?? 'no Dir in the answer'}`);
    dirs.set(moduleAtVersion, (dir = info.Dir));
  }
  return dir;
}
