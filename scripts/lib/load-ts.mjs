// Benchmarks run our TypeScript as it ships: bundled by esbuild (in memory) and required as CommonJS.
import { build, stop } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Bundles `source` (TypeScript, imports relative to `root`, default this repo) and returns its exports.
 * Packages resolve from `root` upwards, then from this repo's node_modules (a checkout of another revision
 * extracted outside the repo has none of its own).
 */
export async function loadTs(source, root = repoRoot) {
  const out = await build({
    nodePaths: [join(repoRoot, 'node_modules')],
    stdin: { contents: source, resolveDir: root, loader: 'ts', sourcefile: 'bench-entry.ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    logLevel: 'warning',
  });
  stop(); // the esbuild service child must not keep the benchmark alive
  const tmp = mkdtempSync(join(tmpdir(), 'bench-'));
  try {
    const file = join(tmp, 'bench.cjs');
    writeFileSync(file, out.outputFiles[0].text);
    return createRequire(import.meta.url)(file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Median and p95 of a list of numbers. */
export function percentiles(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p95: at(0.95) };
}
