// The server plugin's configuration: keys declared once (types, defaults, docs), then the trust material
// they point at (EK CA bundle, EK hash allowlist, PCR policy) loaded and checked at Configure.
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import {
  bool,
  type ConfigOf,
  type ConfigureHook,
  defineConfig,
  duration,
  enumOf,
  type LogLevel,
  object,
  string,
} from '../plugin-sdk';
import {
  IMA_PCR,
  type KeylimeVerifierOptions,
  loadTpmPolicyFile,
  type TpmPolicy,
  TpmPolicyError,
} from '../verifier-client';
import { formatPcrSelection, hashAlgId, parsePemCertificates, selectedPcrs, type TpmsPcrSelection } from '../tpm';
import type { EkProfileOptions } from '../tpm';
import { loadCaBundle, readTrustFile, trustFilesOf } from './trust-files';
import { DEFAULT_PCR_SELECTION, pcrSelectionField } from './pcr-selection';

/** Verifiers this build can use: this plugin alone, or this plugin's quote checks + a Keylime verifier's verdict. */
export const VERIFIERS = ['in_process', 'keylime'] as const;

/** Largest CA / client certificate / key file read for the Keylime connection. */
export const MAX_KEYLIME_PEM_BYTES = 1024 * 1024;

/** The `keylime { ... }` block (verifier = "keylime"). */
const keylimeBlock = object({
  url: string()
    .check((v) => keylimeUrlProblem(v))
    .describe('Base URL of the Keylime verifier, `https://host:port` (Keylime serves TLS only).'),
  ca_path: string().describe(
    "PEM file of the CA the verifier's server certificate must chain to (Keylime's `cv_ca/cacert.crt`); no system CAs are used.",
  ),
  client_cert_path: string()
    .optional()
    .describe("PEM client certificate sent to the verifier (Keylime's `client-cert.crt`); set with `client_key_path`."),
  client_key_path: string()
    .optional()
    .describe("PEM private key of `client_cert_path` (Keylime's `client-private.pem`)."),
  timeout: duration({ min: '100ms', max: '5m' })
    .default('10s')
    .describe(
      "Time allowed for one verification (connect, TLS, Keylime's check, answer); past it the attestation is refused with Unavailable.",
    ),
  api_version: string({ pattern: /^2\.(0|[1-9][0-9]{0,2})$/, patternText: '"2.<minor>" API version, e.g. "2.6"' })
    .optional()
    .describe(
      'Keylime API version to post to (`/v<api_version>/verify/evidence`). Default: asked once with GET /version.',
    ),
});

function keylimeUrlProblem(v: string): string | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return `expected an https URL, got ${JSON.stringify(v.slice(0, 80))}`;
  }
  if (url.protocol !== 'https:')
    return `expected an https URL (the Keylime verifier serves TLS only), got ${JSON.stringify(v.slice(0, 80))}`;
  if (url.username || url.password || url.search || url.hash)
    return 'expected an https URL without credentials, query or fragment';
  return undefined;
}

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
  log_level: enumOf(['trace', 'debug', 'info', 'warn', 'error'])
    .optional()
    .describe('Plugin log level; SPIRE filters further by its own log_level.'),
});

type RawServerConfig = ConfigOf<typeof serverConfigSchema>;

/** Parsed, loaded server configuration; swapped in as a whole at each Configure. */
export interface ServerConfig {
  trustDomain: string;
  logLevel?: LogLevel;
  ekTrust: 'any' | 'all';
  /** Trust anchors from ek_ca_path, when set. */
  ekCaPath?: string;
  ekCas?: readonly X509Certificate[];
  /** The EK certificate profile options (ek_require_eku, ek_allow_sha1). */
  ekProfile: EkProfileOptions;
  /** Lowercase hex SHA-256 EK hashes from ek_hash_path, when set. */
  ekHashPath?: string;
  ekHashes?: ReadonlySet<string>;
  pcrSelection: readonly TpmsPcrSelection[];
  pcrPolicyPath?: string;
  pcrPolicy?: TpmPolicy;
  verifier: (typeof VERIFIERS)[number];
  /** The Keylime connection (TLS material read from the files), when verifier = "keylime". */
  keylime?: KeylimeVerifierOptions;
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
  } else if (c.keylime !== undefined) {
    notes.push(`key "keylime": only used with verifier = "keylime" (verifier is "${c.verifier}")`);
  }
  return notes;
}

type RawKeylime = NonNullable<RawServerConfig['keylime']>;

function readPem(key: string, path: string, notes: string[]): string | undefined {
  let pem: string;
  try {
    pem = readTrustFile(path, MAX_KEYLIME_PEM_BYTES);
  } catch (err) {
    notes.push(`key "${key}": ${(err as Error).message}`);
    return undefined;
  }
  if (!pem.includes('-----BEGIN ')) {
    notes.push(`key "${key}": ${path} holds no PEM block`);
    return undefined;
  }
  return pem;
}

/**
 * Reads and checks the Keylime block's TLS material: the CA file holds certificates (each parsed), the client
 * certificate and key come together and belong to each other (Node's TLS context refuses a mismatched pair).
 */
export function loadKeylimeTls(k: RawKeylime): { options: KeylimeVerifierOptions } | { notes: string[] } {
  const notes: string[] = [];
  const caPem = readPem('keylime.ca_path', k.ca_path, notes);
  if (caPem) {
    try {
      if (parsePemCertificates(caPem, k.ca_path).length === 0)
        notes.push(`key "keylime.ca_path": ${k.ca_path} holds no CERTIFICATE block`);
    } catch (err) {
      notes.push(`key "keylime.ca_path": ${(err as Error).message}`);
    }
  }
  if ((k.client_cert_path === undefined) !== (k.client_key_path === undefined)) {
    notes.push(
      `keys "keylime.client_cert_path" and "keylime.client_key_path": set both or neither (got only ${k.client_cert_path !== undefined ? 'client_cert_path' : 'client_key_path'})`,
    );
  }
  let clientCertPem: string | undefined;
  let clientKeyPem: string | undefined;
  if (k.client_cert_path !== undefined && k.client_key_path !== undefined) {
    clientCertPem = readPem('keylime.client_cert_path', k.client_cert_path, notes);
    clientKeyPem = readPem('keylime.client_key_path', k.client_key_path, notes);
    if (clientCertPem && clientKeyPem) {
      try {
        createSecureContext({ cert: clientCertPem, key: clientKeyPem });
      } catch (err) {
        notes.push(
          `keys "keylime.client_cert_path" and "keylime.client_key_path": ${k.client_cert_path} and ${k.client_key_path} are not a usable certificate and key pair: ${(err as Error).message}`,
        );
      }
    }
  }
  if (notes.length > 0) return { notes };
  return {
    options: {
      url: k.url,
      caPem: caPem!,
      clientCertPem,
      clientKeyPem,
      timeoutMs: k.timeout,
      apiVersion: k.api_version,
    },
  };
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
    pcrSelection: c.pcr_selection,
    verifier: c.verifier,
  };
  if (c.verifier === 'keylime' && c.keylime !== undefined) {
    const loaded = loadKeylimeTls(c.keylime);
    if ('notes' in loaded) notes.push(...loaded.notes);
    else config.keylime = loaded.options;
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
