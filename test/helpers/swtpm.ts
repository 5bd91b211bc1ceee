// Jest wrapper around swtpm-fixture.sh: each call gets its own TPM state and its own local CA.
import { execFileSync } from 'node:child_process';
import { runFixtureScript } from './fixture-script';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTpm, type TpmClient } from '../../tpm/client';

export interface Swtpm {
  /** Our transport spec, e.g. `swtpm:host=127.0.0.1,port=P`. */
  transportSpec: string;
  /** tpm2-tools TCTI string (same syntax); pass as TPM2TOOLS_TCTI. */
  tcti: string;
  /** PEM path of the local CA root that signed the EK certificates. */
  caRoot: string;
  /** PEM path of the intermediate (issuer) certificate. */
  caIssuer: string;
  dir: string;
  port: number;
  ctrlPort: number;
  pid: number;
  /** Environment for tpm2-tools child processes. */
  env: NodeJS.ProcessEnv;
  /** Kills swtpm and removes its directory unless `keep`. */
  stop(options?: { keep?: boolean }): void;
  /** Kills swtpm and starts it again on the same ports and state (a TPM reset). */
  restart(): void;
}

const run = (cmd: string, dir: string): Record<string, string> => runFixtureScript('swtpm-fixture.sh', cmd, dir);

/** Starts a fresh swtpm (RSA-2048 + ECC P-384 EKs with certificates) in a new temporary directory. */
export function startSwtpm(): Swtpm {
  const dir = mkdtempSync(join(tmpdir(), 'swtpm-'));
  const vars = run('start', dir);
  const s: Swtpm = {
    transportSpec: vars.SWTPM_TCTI,
    tcti: vars.SWTPM_TCTI,
    caRoot: vars.SWTPM_CA_ROOT,
    caIssuer: vars.SWTPM_CA_ISSUER,
    dir,
    port: Number(vars.SWTPM_PORT),
    ctrlPort: Number(vars.SWTPM_CTRL_PORT),
    pid: Number(vars.SWTPM_PID),
    env: { ...process.env, TPM2TOOLS_TCTI: vars.SWTPM_TCTI },
    stop(options = {}) {
      run('stop', dir);
      if (!options.keep) rmSync(dir, { recursive: true, force: true });
    },
    restart() {
      const v = run('restart', dir);
      s.pid = Number(v.SWTPM_PID);
    },
  };
  return s;
}

/** One swtpm and a TPM client on it, shared by the tests of one file; set in `beforeAll`. */
export interface SwtpmClientSuite {
  readonly swtpm: Swtpm;
  readonly tpm: TpmClient;
  /** A fresh temporary directory (named from `workPrefix`) for tool files and AK blobs; unset without one. */
  readonly work: string;
}

/**
 * Registers the file's `beforeAll` (start swtpm, open a client, make the work directory) and `afterAll`
 * (close the client, then stop swtpm). Read the fields inside tests and hooks, not at module scope.
 */
export function useSwtpmClient(options: { workPrefix?: string } = {}): SwtpmClientSuite {
  const suite = {} as { swtpm: Swtpm; tpm: TpmClient; work: string };
  beforeAll(() => {
    suite.swtpm = startSwtpm();
    suite.tpm = openTpm(suite.swtpm.transportSpec);
    if (options.workPrefix) suite.work = mkdtempSync(join(tmpdir(), options.workPrefix));
  });
  afterAll(async () => {
    await suite.tpm?.close();
    suite.swtpm?.stop();
  });
  return suite;
}

/** One swtpm for a file that drives tpm2-tools and friends directly; set in `beforeAll`. */
export interface SwtpmToolsSuite {
  readonly swtpm: Swtpm;
  /** The tools' working directory: `subdir` of the swtpm's directory (removed with it). */
  readonly dir: string;
  /** Runs `cmd args` (e.g. tpm2_quote) in `dir` against this swtpm; returns its stdout. */
  tool(cmd: string, ...args: string[]): string;
  /** A file of `dir`, as bytes. */
  read(file: string): Uint8Array;
}

/**
 * Runs a TPM tool (`cmd args`, e.g. tpm2_quote) in `cwd` against `swtpm`; returns stdout. A failure names the
 * command line and carries the tool's stderr.
 */
export function runTpmTool(swtpm: Pick<Swtpm, 'env'>, cwd: string, cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd, env: swtpm.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr || err.message}`, { cause: e });
  }
}

/** Registers the file's `beforeAll` (start swtpm, make `subdir`) and `afterAll` (stop swtpm). */
export function useSwtpmTools(subdir: string): SwtpmToolsSuite {
  const suite = {
    tool: (cmd: string, ...args: string[]) => runTpmTool(suite.swtpm, suite.dir, cmd, args),
    read: (file: string) => new Uint8Array(readFileSync(join(suite.dir, file))),
  } as SwtpmToolsSuite & { swtpm: Swtpm; dir: string };
  beforeAll(() => {
    suite.swtpm = startSwtpm();
    suite.dir = join(suite.swtpm.dir, subdir);
    mkdirSync(suite.dir);
  });
  afterAll(() => suite.swtpm?.stop());
  return suite;
}
