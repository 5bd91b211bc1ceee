// Runs tpm2-tools against a test swtpm (the reference stack these tests cross-check against).
import { runTpmTool, type Swtpm } from '../helpers/swtpm';

/** Runs `tpm2_<tool> args` with TPM2TOOLS_TCTI pointing at `s`, in `cwd`; returns stdout. */
export function tpm2(s: Swtpm, tool: string, args: string[], cwd: string): string {
  return runTpmTool(s, cwd, `tpm2_${tool}`, args);
}

/** Flushes every transient object and session (tpm2-tools leaves them loaded without a resource manager). */
export function flushAll(s: Swtpm, cwd: string): void {
  for (const t of ['-t', '-s', '-l']) tpm2(s, 'flushcontext', [t], cwd);
}

/** The `name:` line of tpm2_readpublic / tpm2_createek-style YAML output, as bytes. */
export function yamlName(out: string): Buffer {
  const m = /^name: ([0-9a-f]+)$/m.exec(out);
  if (!m) throw new Error(`no name in: ${out}`);
  return Buffer.from(m[1], 'hex');
}
