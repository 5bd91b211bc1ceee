// Jest helpers for the real Keylime verifier: start/stop it through keylime-fixture.sh, and make real quote
// evidence with tpm2-tools on a swtpm (independent of our own TPM code, so it can cross-check it).
import { runFixtureScript } from './fixture-script';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QuoteEvidence } from '../../verifier-client';
import type { HashName } from '../../tpm/crypto/hash';
import { runTpmTool, type Swtpm } from './swtpm';

export interface KeylimeVerifierProcess {
  /** `https://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** PEM path of the verifier's self-made CA (`cv_ca/cacert.crt`). */
  caPath: string;
  clientCertPath: string;
  clientKeyPath: string;
  pid: number;
  logPath: string;
  /** The API version GET /version reported as current. */
  apiVersion: string;
  dir: string;
  /** The verifier's log so far. */
  log(): string;
  /** Freezes every verifier process (SIGSTOP to its process group). */
  pause(): void;
  /** Undoes pause(). */
  resume(): void;
  /** Stops the verifier; removes its directory unless `keep`. */
  stop(options?: { keep?: boolean }): void;
  /** Starts it again after stop({ keep: true }): same directory, port, CA and URL. */
  restart(): void;
}

export interface KeylimeVerifierStartOptions {
  /**
   * Measured-boot policy to judge reference states with (`measured_boot_policy_name`, e.g. "example"); also sets
   * measured_boot_evaluate = always. Default: the template's accept-all / once.
   */
  mbPolicy?: string;
}

/** Starts a real keylime_verifier (sqlite, self-made CA) on a free loopback port in a new temporary directory. */
export function startKeylimeVerifier(options: KeylimeVerifierStartOptions = {}): KeylimeVerifierProcess {
  const env = options.mbPolicy ? { KEYLIME_MB_POLICY: options.mbPolicy } : undefined;
  const runFixture = (cmd: string, dir: string): Record<string, string> =>
    runFixtureScript('keylime-fixture.sh', cmd, dir, env);
  const dir = mkdtempSync(join(tmpdir(), 'keylime-'));
  let vars: Record<string, string>;
  try {
    vars = runFixture('start', dir);
  } catch (e) {
    const err = e as { stderr?: string };
    throw new Error(`keylime-fixture.sh start failed: ${err.stderr ?? String(e)}`, { cause: e });
  }
  let pid = Number(vars.KEYLIME_PID);
  const kl: KeylimeVerifierProcess = {
    url: vars.KEYLIME_URL,
    port: Number(vars.KEYLIME_PORT),
    caPath: vars.KEYLIME_CA,
    clientCertPath: vars.KEYLIME_CLIENT_CERT,
    clientKeyPath: vars.KEYLIME_CLIENT_KEY,
    get pid() {
      return pid;
    },
    logPath: vars.KEYLIME_LOG,
    apiVersion: vars.KEYLIME_API_VERSION,
    dir,
    log: () => readFileSync(vars.KEYLIME_LOG, 'utf8'),
    pause: () => process.kill(-pid, 'SIGSTOP'), // setsid made the verifier a process-group leader
    resume: () => process.kill(-pid, 'SIGCONT'),
    stop(options = {}) {
      runFixture('stop', dir);
      if (!options.keep) rmSync(dir, { recursive: true, force: true });
    },
    restart() {
      const again = runFixture('start', dir);
      if (again.KEYLIME_URL !== kl.url) throw new Error(`keylime restarted on ${again.KEYLIME_URL}, not ${kl.url}`);
      pid = Number(again.KEYLIME_PID);
    },
  };
  return kl;
}

/** An AK made with tpm2-tools under a transient RSA EK, kept as context files in `dir`. */
/** What the tpm2-tools helpers need of a TPM: a directory for their files and the TCTI environment. */
export type ToolsTpm = Pick<Swtpm, 'dir' | 'env'>;

export interface ToolsAk {
  dir: string;
  akContext: string;
  /** TPM2B_PUBLIC of the AK and of the EK. */
  akPublic: Uint8Array;
  ekPublic: Uint8Array;
}

function tools(swtpm: ToolsTpm, args: string[], cwd: string): string {
  return runTpmTool(swtpm, cwd, args[0], args.slice(1));
}

function flushTransients(swtpm: ToolsTpm, cwd: string): void {
  tools(swtpm, ['tpm2_flushcontext', '-t'], cwd);
  tools(swtpm, ['tpm2_flushcontext', '-s'], cwd);
}

/**
 * Makes an RSA EK (tpm2_createek) and under it (tpm2_createak) an RSA-2048 RSASSA/SHA-256 AK, or with
 * `alg` 'ecc' an ECC P-256 ECDSA/SHA-256 AK, in a new temporary directory. Every transient handle is flushed
 * afterwards; the AK stays usable through its context file.
 */
export function createToolsAk(swtpm: ToolsTpm, alg: 'rsa' | 'ecc' = 'rsa'): ToolsAk {
  // Inside the swtpm's directory, so swtpm.stop() removes it too.
  const dir = mkdtempSync(join(swtpm.dir, 'tools-ak-'));
  try {
    tools(swtpm, ['tpm2_createek', '-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub'], dir);
    tools(
      swtpm,
      [
        'tpm2_createak',
        '-C',
        'ek.ctx',
        '-c',
        'ak.ctx',
        '-G',
        alg,
        '-g',
        'sha256',
        '-s',
        alg === 'rsa' ? 'rsassa' : 'ecdsa',
        '-u',
        'ak.pub',
        '-n',
        'ak.name',
      ],
      dir,
    );
  } finally {
    flushTransients(swtpm, dir);
  }
  return {
    dir,
    akContext: join(dir, 'ak.ctx'),
    akPublic: readFileSync(join(dir, 'ak.pub')),
    ekPublic: readFileSync(join(dir, 'ek.pub')),
  };
}

export interface ToolsQuoteOptions {
  /** PCR indices to quote. Default 0-7. */
  pcrs?: number[];
  /** Nonce bytes for extraData. */
  nonce: Uint8Array;
  /** Bank and signature hash. Default sha256. */
  hashAlg?: HashName;
  /** tpm2-tools PCR list to quote instead of `<hashAlg>:<pcrs>`, e.g. "sha1:0,1+sha256:0,1" (still signed with hashAlg). */
  selection?: string;
}

/**
 * Quotes with tpm2_quote (-m attest -s sig -o pcrs, whose default "serialized" pcr format is the in-memory
 * TPML_PCR_SELECTION + TPML_DIGEST layout Keylime expects) and returns it as QuoteEvidence.
 */
export function toolsQuote(swtpm: ToolsTpm, ak: ToolsAk, options: ToolsQuoteOptions): QuoteEvidence {
  const hashAlg = options.hashAlg ?? 'sha256';
  const pcrs = options.pcrs ?? [0, 1, 2, 3, 4, 5, 6, 7];
  const nonceHex = Buffer.from(options.nonce).toString('hex');
  const tag = `q-${nonceHex.slice(0, 16)}-${Date.now()}`;
  try {
    tools(
      swtpm,
      [
        'tpm2_quote',
        '-c',
        ak.akContext,
        '-l',
        options.selection ?? `${hashAlg}:${pcrs.join(',')}`,
        '-q',
        nonceHex,
        '-g',
        hashAlg,
        '-m',
        `${tag}.attest`,
        '-s',
        `${tag}.sig`,
        '-o',
        `${tag}.pcrs`,
      ],
      ak.dir,
    );
  } finally {
    flushTransients(swtpm, ak.dir);
  }
  return {
    attest: readFileSync(join(ak.dir, `${tag}.attest`)),
    signature: readFileSync(join(ak.dir, `${tag}.sig`)),
    pcrBlob: readFileSync(join(ak.dir, `${tag}.pcrs`)),
    nonce: Uint8Array.from(options.nonce),
    hashAlg,
    akPublic: ak.akPublic,
    ekPublic: ak.ekPublic,
  };
}

/** Reads PCR values with tpm2_pcrread: index -> lowercase hex. */
export function toolsPcrRead(swtpm: ToolsTpm, hashAlg: HashName, pcrs: number[]): Map<number, string> {
  const out = tools(swtpm, ['tpm2_pcrread', `${hashAlg}:${pcrs.join(',')}`], tmpdir());
  const values = new Map<number, string>();
  for (const line of out.split('\n')) {
    const m = /^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)\s*$/.exec(line);
    if (m) values.set(Number(m[1]), m[2].toLowerCase());
  }
  if (values.size !== pcrs.length)
    throw new Error(`tpm2_pcrread returned ${values.size} of ${pcrs.length} PCRs:\n${out}`);
  return values;
}

/** Extends a PCR with tpm2_pcrextend (one digest of the bank's size). */
export function toolsPcrExtend(swtpm: ToolsTpm, pcr: number, hashAlg: HashName, digestHex: string): void {
  tools(swtpm, ['tpm2_pcrextend', `${pcr}:${hashAlg}=${digestHex}`], tmpdir());
}

/** The part of Keylime's /verify/evidence answer tests read (the body is whatever Keylime sent). */
export interface EvidenceAnswer {
  results: { valid: boolean; failures: Array<{ type: string }> };
}

/**
 * Posts a raw body to the verifier's /verify/evidence, to see what Keylime does with bodies our client would
 * never send. Rejects when the connection breaks before an answer.
 */
export function rawPost(kl: KeylimeVerifierProcess, body: unknown): Promise<{ status: number; json: EvidenceAnswer }> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = request(`${kl.url}/v${kl.apiVersion}/verify/evidence`, {
      method: 'POST',
      ca: readFileSync(kl.caPath),
      headers: { 'Content-Type': 'application/json', 'Content-Length': data.length },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, json: json as EvidenceAnswer });
      });
    });
    req.end(data);
  });
}
