// Real TCG event logs published by other projects, fetched at test time through the Go module proxy into the
// Go module cache (`go mod download -json`), never copied into this repository (design notes, section 10).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HashName } from '../../tpm/crypto/hash';
import type { PcrValues } from '../../tpm/verify/pcr-values';

export const GO_EVENTLOG = 'github.com/google/go-eventlog@v0.0.2';
export const GO_ATTESTATION = 'github.com/google/go-attestation@v0.6.1';

const dirs = new Map<string, string>();

/** The module's directory in the Go module cache, downloading it on first use (e.g. on a fresh CI machine). */
export function goModuleDir(moduleAtVersion: string): string {
  let dir = dirs.get(moduleAtVersion);
  if (!dir) {
    // Outside any go.mod, so nothing in the repository is read or changed.
    const out = execFileSync('go', ['mod', 'download', '-json', moduleAtVersion], { cwd: tmpdir(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const info = JSON.parse(out) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new Error(`go mod download ${moduleAtVersion}: ${info.Error ?? 'no Dir in the answer'}`);
    dirs.set(moduleAtVersion, (dir = info.Dir));
  }
  return dir;
}

export interface RealEventLog {
  /** File name, e.g. `ubuntu-2404-amd-sevsnp.bin`. */
  name: string;
  /** Every `module@version/path` holding these exact bytes. */
  sources: string[];
  bytes: Uint8Array;
}

/**
 * Every raw binary event log in go-eventlog (testdata/eventlogs/tpm/*.bin, testdata/legacydata/*) and
 * go-attestation (attest/testdata/*eventlog*), identical files listed once. CCEL (TDX) logs are not TPM logs.
 */
export function realEventLogs(): RealEventLog[] {
  const byHash = new Map<string, RealEventLog>();
  const add = (module: string, sub: string, keep: (f: string) => boolean): void => {
    const dir = join(goModuleDir(module), sub);
    for (const f of readdirSync(dir).filter(keep).sort()) {
      const bytes = new Uint8Array(readFileSync(join(dir, f)));
      const h = createHash('sha256').update(bytes).digest('hex');
      const known = byHash.get(h);
      if (known) known.sources.push(`${module}/${sub}/${f}`);
      else byHash.set(h, { name: f, sources: [`${module}/${sub}/${f}`], bytes });
    }
  };
  add(GO_EVENTLOG, 'testdata/eventlogs/tpm', (f) => f.endsWith('.bin'));
  add(GO_EVENTLOG, 'testdata/legacydata', (f) => !f.endsWith('.json'));
  add(GO_ATTESTATION, 'attest/testdata', (f) => f.includes('eventlog'));
  return [...byHash.values()];
}

/** One real log by file name (throws when no module has it). */
export function realEventLog(name: string): RealEventLog {
  const log = realEventLogs().find((l) => l.name === name);
  if (!log) throw new Error(`no real event log named ${name}`);
  return log;
}

// Go's crypto.Hash numbers, which the JSON dumps use for DigestAlg.
const GO_CRYPTO_HASH: Readonly<Record<number, HashName>> = { 3: 'sha1', 5: 'sha256', 6: 'sha384', 7: 'sha512' };

/**
 * A go-attestation / go-eventlog JSON dump (`windows_gcp_shielded_vm.json`, `linux_tpm12.json`): the raw log and
 * the PCR values read from the same machine.
 */
export function goDump(moduleAtVersion: string, path: string): { log: Uint8Array; pcrs: PcrValues } {
  const dump = JSON.parse(readFileSync(join(goModuleDir(moduleAtVersion), path), 'utf8')) as {
    Log: { Raw: string; PCRs: { Index: number; Digest: string; DigestAlg: number }[] };
  };
  const pcrs: Record<string, Record<number, Uint8Array>> = {};
  for (const p of dump.Log.PCRs) {
    const bank = GO_CRYPTO_HASH[p.DigestAlg];
    if (!bank) throw new Error(`${path}: unknown DigestAlg ${p.DigestAlg}`);
    (pcrs[bank] ??= {})[p.Index] = new Uint8Array(Buffer.from(p.Digest, 'base64'));
  }
  return { log: new Uint8Array(Buffer.from(dump.Log.Raw, 'base64')), pcrs: pcrs as PcrValues };
}
