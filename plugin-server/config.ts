// The server plugin's configuration: keys declared once (types, defaults, docs), then the trust material
// they point at (EK CA bundle, EK hash allowlist, PCR policy) loaded and checked at Configure.
import { X509Certificate } from 'node:crypto';
import {
  bool,
  type ConfigOf,
  type ConfigureHook,
  defineConfig,
  duration,
  enumOf,
  type LogLevel,
  string,
} from '../plugin-sdk';
import {
  IMA_PCR,
  type KeylimeVerifierOptions,
  loadTpmPolicyFile,
  type TpmPolicy,
  TpmPolicyError,
} from '../verifier-client';
import {
  createEkCertificateCache,
  type EkCertificateCache,
  type EkProfileOptions,
  formatPcrSelection,
  hashAlgId,
  KEYLIME_EXAMPLE_POLICY_PCRS,
  selectedPcrs,
  type TpmsPcrSelection,
} from '../tpm';
import { keylimeBlock, loadKeylimeTls } from './keylime-config';
import { loadCaBundle, readTrustFile, trustFilesOf } from './trust-files';
import { DEFAULT_PCR_SELECTION, pcrSelectionField } from './pcr-selection';
import { EVENT_LOG_MODES, loadBootPolicy, type MeasuredBootConfig } from './measured-boot';

/** Verifiers this build can use: this plugin alone, or this plugin's quote checks + a Keylime verifier's verdict. */
export const VERIFIERS = ['in_process', 'keylime'] as const;

/** The declared keys of the server plugin (docs/plugin-server.md's table is generated from this). */
export const serverConfigSchema = defineConfig({
  ek_ca_path: string()
    .optional()
    .describe(
      "PEM file, or directory of PEM files, of CAs an EK certificate must chain to (roots and intermediates). Only CAs that issue EK certificates (TPM manufacturers' EK CAs): the EK profile checks keep other certificates such a CA signed out, but a mixed-use CA widens what is trusted.",
    ),
  ek_require_eku: bool()
    .default(false)
    .describe(
      'Refuse EK certificates without an extended key usage. When present it must always include the EK certificate purpose 2.23.133.8.1; some EK certificates omit the extension.',
    ),
  ek_allow_sha1: bool()
    .default(false)
    .describe(
      'Accept SHA-1 signatures (RSA PKCS#1 v1.5, RSA-PSS, ECDSA) on EK certificates and the intermediates they chain through; some older EK certificates use them. MD5 is never accepted.',
    ),
  ek_hash_path: string()
    .optional()
    .describe(
      'EK allowlist: a file, or directory of files, with one hex SHA-256 of the EK public key (PKIX DER) per line; `#` starts a comment.',
    ),
  ek_trust: enumOf(['any', 'all'])
    .default('any')
    .describe(
      '`any`: the EK passes if it chains to `ek_ca_path` OR is in `ek_hash_path` (whichever are set). `all`: both must be set and both must pass.',
    ),
  pcr_selection: pcrSelectionField()
    .default(DEFAULT_PCR_SELECTION)
    .describe(
      'PCRs the agent must quote, e.g. "sha256:0-7" or ["sha256:0,1,2,3,4,5,6,7", "sha1:0"]. One `pcr:<bank>:<index>:<hex>` selector per quoted PCR.',
    ),
  pcr_policy_path: string()
    .optional()
    .describe(
      'Keylime tpm_policy JSON file (`{"<pcr>": ["<hex>", ...], "mask": "0x.."}`): every PCR it lists must be quoted with one of its values. Its PCRs must be in `pcr_selection`.',
    ),
  verifier: enumOf(VERIFIERS)
    .default('in_process')
    .describe(
      'Who checks the PCR policy: `in_process` (this plugin), or `keylime`: this plugin makes every cryptographic check, then a Keylime verifier (the `keylime` block) judges the same evidence against `pcr_policy_path`; both must pass. `keylime` needs `pcr_policy_path` and one `sha256` bank in `pcr_selection`.',
    ),
  keylime: keylimeBlock.optional().describe('The Keylime verifier, for verifier = "keylime".'),
  event_log: enumOf(EVENT_LOG_MODES)
    .default('optional')
    .describe(
      'The TCG event log the agent sends (docs/event-log.md): `ignore` (never read), `optional` (a log sent must replay to the quoted PCRs and yields the boot selectors; a node without one attests as before) or `required` (a node without a log is refused). A log whose replay differs is refused by the `event_log` check naming PCR, bank and event.',
    ),
  boot_policy_path: string()
    .optional()
    .describe(
      'Boot policy JSON file (docs/event-log.md: `require_secure_boot`, allowed PK/KEK/db/dbx, boot application, kernel, initrd digests and kernel command lines); refusal names the rule. `pcr_selection` must quote the PCRs its rules read (7 Secure Boot, 4 boot applications, 8-9 kernel, in sha256 for file digests). Not with event_log = "ignore".',
    ),
  log_level: enumOf(['trace', 'debug', 'info', 'warn', 'error'])
    .optional()
    .describe('Plugin log level; SPIRE filters further by its own log_level.'),
  challenge_timeout: duration({ min: '1s', max: '10m' })
    .default('30s')
    .describe(
      "Time an agent has to answer the challenge (credential activation and quote on its TPM); past it the attestation is refused with DeadlineExceeded and the challenge's nonce and secret are wiped.",
    ),
});

type RawServerConfig = ConfigOf<typeof serverConfigSchema>;

/** Parsed, loaded server configuration; swapped in as a whole at each Configure. */
export interface ServerConfig extends MeasuredBootConfig {
  trustDomain: string;
  logLevel?: LogLevel;
  ekTrust: 'any' | 'all';
  /** Trust anchors from ek_ca_path, when set. */
  ekCaPath?: string;
  ekCas?: readonly X509Certificate[];
  /** The EK certificate profile options (ek_require_eku, ek_allow_sha1). */
  ekProfile: EkProfileOptions;
  /**
   * Parsed EK certificates and paths verified against `ekCas`: new (empty) at each Configure, so nothing
   * verified under an earlier configuration is reused.
   */
  ekCertificates: EkCertificateCache;
  /** Lowercase hex SHA-256 EK hashes from ek_hash_path, when set. */
  ekHashPath?: string;
  ekHashes?: ReadonlySet<string>;
  pcrSelection: readonly TpmsPcrSelection[];
  pcrPolicyPath?: string;
  pcrPolicy?: TpmPolicy;
  verifier: (typeof VERIFIERS)[number];
  /** The Keylime connection (TLS material read from the files), when verifier = "keylime". */
  keylime?: KeylimeVerifierOptions;
  /** keylime.mb_refstate_path, when Keylime judges the boot log too (its content is in `keylime.mbRefstate`). */
  keylimeMbRefstatePath?: string;
  /** challenge_timeout in milliseconds. */
  challengeTimeoutMs: number;
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
    files = trustFilesOf(path);
  } catch (err) {
    return { notes: [`key "ek_hash_path": ${(err as Error).message}`] };
  }
  for (const file of files) {
    let text: string;
    try {
      text = readTrustFile(file);
    } catch (err) {
      notes.push(`key "ek_hash_path": ${(err as Error).message}`);
      continue;
    }
    text.split(/\r?\n/).forEach((line, i) => {
      const value = line.replace(/#.*$/, '').trim();
      if (value === '') return;
      if (!/^[0-9a-fA-F]{64}$/.test(value)) {
        if (notes.length < 10)
          notes.push(
            `key "ek_hash_path": ${file}:${i + 1}: expected 64 hex digits (a SHA-256), got ${JSON.stringify(value.slice(0, 80))}`,
          );
        else if (notes.length === 10) notes.push(`key "ek_hash_path": more bad lines not shown`);
        return;
      }
      hashes.add(value.toLowerCase());
    });
  }
  if (notes.length === 0 && hashes.size === 0)
    notes.push(`key "ek_hash_path": ${path} lists no EK hash (an empty allowlist admits nobody)`);
  return notes.length > 0 ? { notes } : { hashes };
}

/** Checks the keys against each other (only when each parsed). */
function crossCheck(c: RawServerConfig): string[] {
  const notes: string[] = [];
  if (c.ek_ca_path === undefined && c.ek_hash_path === undefined) {
    notes.push(
      'keys "ek_ca_path" and "ek_hash_path": set at least one (an EK must be trusted by a CA bundle or an allowlist)',
    );
  }
  if (c.ek_trust === 'all') {
    if (c.ek_ca_path === undefined) notes.push('key "ek_ca_path": required when ek_trust = "all"');
    if (c.ek_hash_path === undefined) notes.push('key "ek_hash_path": required when ek_trust = "all"');
  }
  if (c.verifier === 'keylime') {
    if (c.keylime === undefined)
      notes.push('key "keylime": required when verifier = "keylime" (a block with url and ca_path)');
    if (c.pcr_policy_path === undefined)
      notes.push(
        'key "pcr_policy_path": required when verifier = "keylime" (Keylime judges the evidence against this tpm_policy)',
      );
    // Keylime reads one bank, the one of the quote's signature hash; the agent's AK signs with SHA-256.
    const banks = c.pcr_selection.map((s) => s.hash);
    if (banks.length !== 1 || banks[0] !== hashAlgId('sha256')) {
      notes.push(
        `key "pcr_selection": with verifier = "keylime" it must select one bank, sha256 (the AK's signature hash; Keylime checks only that bank), got "${formatPcrSelection(c.pcr_selection)}"`,
      );
    }
    // Keylime checks a quoted PCR 10 against an IMA measurement list, which this plugin does not send.
    if (c.pcr_selection.some((s) => selectedPcrs(s).includes(IMA_PCR))) {
      notes.push(
        `key "pcr_selection": with verifier = "keylime" it must not include PCR ${IMA_PCR} (Keylime checks a quoted PCR ${IMA_PCR} against an IMA log, which is not sent), got "${formatPcrSelection(c.pcr_selection)}"`,
      );
    }
    if (c.keylime?.mb_refstate_path !== undefined) {
      // Measured boot was asked for: a node without a log must be refused, never judged by Keylime without one.
      if (c.event_log !== 'required')
        notes.push(`key "keylime.mb_refstate_path": needs event_log = "required" (event_log is "${c.event_log}")`);
      const quoted = new Set(c.pcr_selection.flatMap((s) => selectedPcrs(s)));
      const missing = KEYLIME_EXAMPLE_POLICY_PCRS.filter((p) => !quoted.has(p));
      if (missing.length > 0)
        notes.push(
          `key "keylime.mb_refstate_path": Keylime's example policy reads PCR ${missing.join(', ')}, which pcr_selection ("${formatPcrSelection(c.pcr_selection)}") does not quote`,
        );
    }
  } else if (c.keylime !== undefined) {
    notes.push(`key "keylime": only used with verifier = "keylime" (verifier is "${c.verifier}")`);
  }
  if (c.boot_policy_path !== undefined && c.event_log === 'ignore')
    notes.push('key "boot_policy_path": needs event_log = "optional" or "required" (event_log is "ignore")');
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
    ekProfile: { requireEku: c.ek_require_eku, allowSha1: c.ek_allow_sha1 },
    ekCertificates: createEkCertificateCache(),
    pcrSelection: c.pcr_selection,
    verifier: c.verifier,
    eventLog: c.event_log,
    challengeTimeoutMs: c.challenge_timeout,
  };
  if (c.boot_policy_path !== undefined && c.event_log !== 'ignore') {
    const loaded = loadBootPolicy(c.boot_policy_path, c.pcr_selection);
    if ('notes' in loaded) notes.push(...loaded.notes);
    else {
      config.bootPolicyPath = c.boot_policy_path;
      config.bootPolicy = loaded.policy;
    }
  }
  if (c.verifier === 'keylime' && c.keylime !== undefined) {
    const loaded = loadKeylimeTls(c.keylime);
    if ('notes' in loaded) notes.push(...loaded.notes);
    else {
      config.keylime = loaded.options;
      config.keylimeMbRefstatePath = c.keylime.mb_refstate_path;
    }
  }
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
    if ('notes' in loaded) notes.push(...loaded.notes);
    else {
      config.ekHashPath = c.ek_hash_path;
      config.ekHashes = loaded.hashes;
    }
  }
  if (c.pcr_policy_path !== undefined) {
    try {
      const policy = loadTpmPolicyFile(c.pcr_policy_path);
      const bank = c.pcr_selection.find((s) => s.hash === hashAlgId(policy.hashAlg));
      const quoted = bank ? selectedPcrs(bank) : [];
      const missing = [...policy.pcrs.keys()].filter((p) => !quoted.includes(p));
      if (!bank) {
        notes.push(
          `key "pcr_policy_path": the policy is for the ${policy.hashAlg} bank, which pcr_selection ("${formatPcrSelection(c.pcr_selection)}") does not quote`,
        );
      } else if (missing.length > 0) {
        notes.push(
          `key "pcr_policy_path": the policy lists ${policy.hashAlg} PCR ${missing.join(', ')}, which pcr_selection ("${formatPcrSelection(c.pcr_selection)}") does not quote`,
        );
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
