// Real TCG event logs published by other projects, fetched at test time through the Go module proxy into the
// Go module cache (`go mod download -json`), never copied into this repository (design notes, section 10).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HashName } from '../../tpm/crypto/hash';
import type { PcrValues } from '../../tpm/types/pcr';
import { goModuleDir } from './go-module';

export const GO_EVENTLOG = 'github.com/google/go-eventlog@v0.0.2';
export const GO_ATTESTATION = 'github.com/google/go-attestation@v0.6.1';

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

/** One real log by file name, under any of its names (throws when no module has it). */
export function realEventLog(name: string): RealEventLog {
  const log = realEventLogs().find((l) => l.sources.some((s) => s.endsWith(`/${name}`)));
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

// ---- Expected values written in those projects' Go tests, read from the downloaded sources.

const GO_ESCAPES: Readonly<Record<string, number>> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
  "'": 39,
  '"': 34,
};

/** The bytes of a Go interpreted string (or rune) literal's body: escapes decoded, other characters as UTF-8. */
export function goLiteralBytes(body: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < body.length;) {
    if (body[i] !== '\\') {
      const cp = body.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
      continue;
    }
    const c = body[i + 1];
    if (c === 'x') {
      out.push(parseInt(body.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (c === 'u' || c === 'U') {
      const n = c === 'u' ? 4 : 8;
      out.push(...Buffer.from(String.fromCodePoint(parseInt(body.slice(i + 2, i + 2 + n), 16)), 'utf8'));
      i += 2 + n;
    } else if (/[0-7]/.test(c)) {
      out.push(parseInt(body.slice(i + 1, i + 4), 8));
      i += 4;
    } else if (c in GO_ESCAPES) {
      out.push(GO_ESCAPES[c]);
      i += 2;
    } else throw new Error(`unknown Go escape \\${c}`);
  }
  return new Uint8Array(out);
}

function goSource(moduleAtVersion: string, path: string, from: string, to?: string): string {
  const src = readFileSync(join(goModuleDir(moduleAtVersion), path), 'utf8');
  const start = src.indexOf(from);
  if (start < 0) throw new Error(`${moduleAtVersion}/${path}: no ${from}`);
  const end = to === undefined ? src.length : src.indexOf(to, start + from.length);
  return src.slice(start, end < 0 ? src.length : end);
}

const GO_HASH_NAMES: Readonly<Record<string, HashName>> = { SHA1: 'sha1', SHA256: 'sha256', SHA384: 'sha384' };

/** What one Go test of go-eventlog says about one real log. */
export interface GoExpectation {
  /** The test that states it, `module@version/path: TestName`. */
  source: string;
  log: string;
  pcrs: PcrValues;
  /** len(sbs.PostSeparatorAuthority) the test expects, when it checks it. */
  postSeparatorAuthorities?: number;
}

/**
 * PCR values go-eventlog's tests verify real logs against: extract_test.go (ubuntu-2404-amd-sevsnp, sha256
 * via decodeHex), secureboot_test.go TestSecureBootBug157 (sb_cert_eventlog, Go string literals) and
 * TestSecureBootOptionRom (option_rom_eventlog, base64), with the authority counts those tests assert.
 */
export function goEventlogExpectations(): GoExpectation[] {
  const out: GoExpectation[] = [];
  const add = (
    pcrs: Record<string, Record<number, Uint8Array>>,
    bank: HashName,
    index: number,
    digest: Uint8Array,
  ): void => {
    (pcrs[bank] ??= {})[index] = digest;
  };
  {
    const src = goSource(GO_EVENTLOG, 'extract/extract_test.go', 'func getTPMELEvents', 'func decodeHex');
    const pcrs = {};
    for (const m of src.matchAll(/(\d+):\s+decodeHex\("([0-9a-f]+)"\)/g))
      add(pcrs, 'sha256', Number(m[1]), new Uint8Array(Buffer.from(m[2], 'hex')));
    out.push({
      source: `${GO_EVENTLOG}/extract/extract_test.go: getTPMELEvents`,
      log: 'ubuntu-2404-amd-sevsnp.bin',
      pcrs,
    });
  }
  const pcrList = (src: string, digest: (lit: string) => Uint8Array): Record<string, Record<number, Uint8Array>> => {
    const pcrs = {};
    const re =
      /\{Index: '((?:[^'\\]|\\.)+)', Digest: (?:\[\]byte\("((?:[^"\\]|\\.)*)"\)|b64MustDecode\("([^"]*)"\)), DigestAlg: crypto\.(SHA\d+)\}/g;
    for (const m of src.matchAll(re))
      add(
        pcrs,
        GO_HASH_NAMES[m[4]],
        goLiteralBytes(m[1])[0],
        m[2] !== undefined ? digest(m[2]) : new Uint8Array(Buffer.from(m[3], 'base64')),
      );
    return pcrs;
  };
  const authorities = (src: string): number | undefined => {
    const m = /len\(sbs\.PostSeparatorAuthority\), (\d+)/.exec(src);
    return m ? Number(m[1]) : undefined;
  };
  for (const [test, log] of [
    ['func TestSecureBootBug157', 'sb_cert_eventlog'],
    ['func TestSecureBootOptionRom', 'option_rom_eventlog'],
  ] as const) {
    const src = goSource(GO_EVENTLOG, 'extract/secureboot_test.go', test, '\nfunc ');
    out.push({
      source: `${GO_EVENTLOG}/extract/secureboot_test.go: ${test.slice(5)}`,
      log,
      pcrs: pcrList(src, goLiteralBytes),
      postSeparatorAuthorities: authorities(src),
    });
  }
  return out;
}

/** Kernel command lines go-eventlog's testdata/eventlog_data.go gives for its logs (Go string constants). */
export function goEventlogCmdlines(): { log: string; cmdline: string }[] {
  const src = goSource(GO_EVENTLOG, 'testdata/eventlog_data.go', '// Kernel command lines');
  const files: Record<string, string> = {
    Cos85AmdSevCmdline: 'cos-85-amd-sev.bin',
    Cos93AmdSevCmdline: 'cos-93-amd-sev.bin',
    Cos101AmdSevCmdline: 'cos-101-amd-sev.bin',
    Ubuntu2404AmdSevSnpCmdline: 'ubuntu-2404-amd-sevsnp.bin',
  };
  return [...src.matchAll(/(\w+Cmdline)\s*=\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => {
    if (!files[m[1]]) throw new Error(`eventlog_data.go: no log known for ${m[1]}`);
    return { log: files[m[1]], cmdline: Buffer.from(goLiteralBytes(m[2])).toString('latin1') };
  });
}
