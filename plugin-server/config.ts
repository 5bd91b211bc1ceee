// The server plugin's configuration: keys declared once (types, defaults, docs), then the trust material
// they point at (EK CA bundle, EK hash allowlist, PCR policy) loaded and checked at Configure.
import type { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { defineConfig, enumOf, string, type ConfigOf } from "../plugin-sdk/config";
import type { ConfigureHook } from "../plugin-sdk";
import type { LogLevel } from "../plugin-sdk";
import { loadCaBundle } from "../tpm/verify/ek-cert";
import { loadTpmPolicyFile, TpmPolicyError, type TpmPolicy } from "../verifier-client/policy";
import { DEFAULT_PCR_SELECTION, formatPcrSelection, pcrSelectionField, type BankSelection } from "./pcr-selection";

/** Verifiers this build can use. "keylime" arrives with a later issue. */
export const VERIFIERS = ["in_process"] as const;

/** Largest EK hash allowlist file read (64-hex-digit lines: ~15k entries per MiB). */
export const MAX_HASH_FILE_BYTES = 4 * 1024 * 1024;

/** The declared keys of the server plugin (docs/plugin-server.md's table is generated from this). */
export const serverConfigSchema = defineConfig({
  ek_ca_path: string()
    .optional()
    .describe("PEM file, or directory of PEM files, of CAs an EK certificate must chain to (roots and intermediates)."),
  ek_hash_path: string()
    .optional()
    .describe("EK allowlist: a file, or directory of files, with one hex SHA-256 of the EK public key (PKIX DER) per line; `#` starts a comment."),
  ek_trust: enumOf(["any", "all"])
    .default("any")
    .describe("`any`: the EK passes if it chains to `ek_ca_path` OR is in `ek_hash_path` (whichever are set). `all`: both must be set and both must pass."),
  pcr_selection: pcrSelectionField()
    .default(DEFAULT_PCR_SELECTION)
    .describe('PCRs the agent must quote, e.g. "sha256:0-7" or ["sha256:0,1,2,3,4,5,6,7", "sha1:0"]. One `pcr:<bank>:<index>:<hex>` selector per quoted PCR.'),
  pcr_policy_path: string()
    .optional()
    .describe("Keylime tpm_policy JSON file (`{\"<pcr>\": [\"<hex>\", ...], \"mask\": \"0x..\"}`): every PCR it lists must be quoted with one of its values. Its PCRs must be in `pcr_selection`."),
  verifier: string()
    .default("in_process")
    .check((v) =>
      (VERIFIERS as readonly string[]).includes(v)
        ? undefined
        : `expected "in_process", got ${JSON.stringify(v.slice(0, 40))}${v === "keylime" ? ' ("keylime" comes with a later release of this plugin)' : ""}`,
    )
    .describe("Who checks the PCR policy: `in_process` (this plugin). `keylime` is not available yet."),
  log_level: enumOf(["trace", "debug", "info", "warn", "error"])
    .optional()
    .describe("Plugin log level; SPIRE filters further by its own log_level."),
});

type RawServerConfig = ConfigOf<typeof serverConfigSchema>;

/** Parsed, loaded server configuration; swapped in as a whole at each Configure. */
export interface ServerConfig {
  trustDomain: string;
  logLevel?: LogLevel;
  ekTrust: "any" | "all";
  /** Trust anchors from ek_ca_path, when set. */
  ekCaPath?: string;
  ekCas?: readonly X509Certificate[];
  /** Lowercase hex SHA-256 EK hashes from ek_hash_path, when set. */
  ekHashPath?: string;
  ekHashes?: ReadonlySet<string>;
  pcrSelection: readonly BankSelection[];
  pcrPolicyPath?: string;
  pcrPolicy?: TpmPolicy;
  verifier: (typeof VERIFIERS)[number];
}

/**
 * Reads an EK hash allowlist: a file, or every regular file of a directory (sorted, not recursive), one
 * hex SHA-256 per line; blank lines and `#` comments skipped. Returns the hashes (lowercase), or notes
 * naming file and line.
 */
export function loadEkHashes(path: string): { hashes: Set<string> } | { notes: string[] } {
  const notes: string[] = [];
  const hashes = new Set<string>();
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .sort()
          .map((f) => join(path, f))
          .filter((f) => statSync(f).isFile())
      : [path];
  } catch (err) {
    return { notes: [`key "ek_hash_path": cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`] };
  }
  for (const file of files) {
    let text: string;
    try {
      const size = statSync(file).size;
      if (size > MAX_HASH_FILE_BYTES) {
        notes.push(`key "ek_hash_path": ${file} is ${size} bytes, more than ${MAX_HASH_FILE_BYTES}`);
        continue;
      }
      text = readFileSync(file, "utf8");
    } catch (err) {
      notes.push(`key "ek_hash_path": cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    text.split(/\r?\n/).forEach((line, i) => {
      const value = line.replace(/#.*$/, "").trim();
      if (value === "") return;
      if (!/^[0-9a-fA-F]{64}$/.test(value)) {
        if (notes.length < 10) notes.push(`key "ek_hash_path": ${file}:${i + 1}: expected 64 hex digits (a SHA-256), got ${JSON.stringify(value.slice(0, 80))}`);
        else if (notes.length === 10) notes.push(`key "ek_hash_path": more bad lines not shown`);
        return;
      }
      hashes.add(value.toLowerCase());
    });
  }
  if (notes.length === 0 && hashes.size === 0) notes.push(`key "ek_hash_path": ${path} lists no EK hash (an empty allowlist admits nobody)`);
  return notes.length > 0 ? { notes } : { hashes };
}

/** Checks the keys against each other (only when each parsed). */
function crossCheck(c: RawServerConfig): string[] {
  const notes: string[] = [];
  if (c.ek_ca_path === undefined && c.ek_hash_path === undefined) {
    notes.push('keys "ek_ca_path" and "ek_hash_path": set at least one (an EK must be trusted by a CA bundle or an allowlist)');
  }
  if (c.ek_trust === "all") {
    if (c.ek_ca_path === undefined) notes.push('key "ek_ca_path": required when ek_trust = "all"');
    if (c.ek_hash_path === undefined) notes.push('key "ek_hash_path": required when ek_trust = "all"');
  }
  return notes;
}

/**
 * Builds the server configuration: parses the HCL (every key checked, every problem reported), then loads
 * the CA bundle, the hash allowlist and the PCR policy, and checks the policy's PCRs are in pcr_selection.
 * Pure apart from reading those files, so Validate can run it too.
 */
export const configureServer: ConfigureHook<ServerConfig> = (core, hcl) => {
  const built = serverConfigSchema.build(core.trustDomain, hcl);
  if (!built.ok) return { notes: built.notes };
  const c = built.config;
  const notes = crossCheck(c);
  const config: ServerConfig = {
    trustDomain: built.trustDomain,
    logLevel: c.log_level,
    ekTrust: c.ek_trust,
    pcrSelection: c.pcr_selection,
    verifier: "in_process",
  };
  if (c.ek_ca_path !== undefined) {
    try {
      config.ekCaPath = c.ek_ca_path;
      config.ekCas = Object.freeze(loadCaBundle(c.ek_ca_path));
    } catch (err) {
      notes.push(`key "ek_ca_path": ${(err as Error).message}`);
    }
  }
  if (c.ek_hash_path !== undefined) {
    const loaded = loadEkHashes(c.ek_hash_path);
    if ("notes" in loaded) notes.push(...loaded.notes);
    else {
      config.ekHashPath = c.ek_hash_path;
      config.ekHashes = loaded.hashes;
    }
  }
  if (c.pcr_policy_path !== undefined) {
    try {
      const policy = loadTpmPolicyFile(c.pcr_policy_path);
      const bank = c.pcr_selection.find((s) => s.bank === policy.hashAlg);
      const missing = [...policy.pcrs.keys()].filter((p) => !bank?.pcrs.includes(p));
      if (!bank) {
        notes.push(`key "pcr_policy_path": the policy is for the ${policy.hashAlg} bank, which pcr_selection ("${formatPcrSelection(c.pcr_selection)}") does not quote`);
      } else if (missing.length > 0) {
        notes.push(`key "pcr_policy_path": the policy lists ${policy.hashAlg} PCR ${missing.join(", ")}, which pcr_selection ("${formatPcrSelection(c.pcr_selection)}") does not quote`);
      } else {
        config.pcrPolicyPath = c.pcr_policy_path;
        config.pcrPolicy = policy;
      }
    } catch (err) {
      if (!(err instanceof TpmPolicyError)) throw err;
      notes.push(`key "pcr_policy_path": ${err.message}`);
    }
  }
  return notes.length > 0 ? { notes } : { config };
};
