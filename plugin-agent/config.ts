// The agent plugin's configuration: keys declared once (types, defaults, docs), parsed by the SDK's
// error-collecting builder for both Configure and Validate.
import {
  type ConfigOf,
  type ConfigureHook,
  defineConfig,
  duration,
  enumOf,
  int,
  type LogLevel,
  string,
} from '../plugin-sdk';
import { DEFAULT_TRANSPORT, parseTransportSpec } from '../tpm';
import { DEFAULT_EVENT_LOG_PATH } from './event-log';

/** Where the AK is kept when ak_data_dir is not set. */
export const DEFAULT_AK_DATA_DIR = '/var/lib/spire/agent/tpm_quote';

/** The declared keys of the agent plugin (docs/plugin-agent.md's table is generated from this). */
export const agentConfigSchema = defineConfig({
  tpm: string()
    .default(DEFAULT_TRANSPORT)
    .check((spec) => {
      try {
        parseTransportSpec(spec);
        return undefined;
      } catch (err) {
        return `expected "device:<path>", "swtpm:host=<h>,port=<p>" or "swtpm:path=<socket>", got ${JSON.stringify(spec.slice(0, 60))} (${(err as Error).message})`;
      }
    })
    .describe(
      'How to reach the TPM: `device:/dev/tpmrm0` (kernel resource manager), `device:/dev/tpm0`, `swtpm:host=127.0.0.1,port=2321` or `swtpm:path=/run/swtpm.sock`.',
    ),
  ek_algorithm: enumOf(['auto', 'rsa', 'ecc', 'rsa2048', 'ecc-p256', 'ecc-p384', 'rsa3072'])
    .default('auto')
    .describe(
      'Which EK to use: `auto` (the first with a certificate in NV, low range first: RSA-2048, ECC P-256, then high range: RSA-2048, ECC P-256, ECC P-384, RSA-3072), `rsa`, `ecc`, or one kind. A persistent EK (0x81010000-0x810100ff) of the kind, matching the certificate, is used when present.',
    ),
  ek_certificate_path: string()
    .optional()
    .check((p) =>
      p.startsWith('/') ? undefined : `expected an absolute file path, got ${JSON.stringify(p.slice(0, 60))}`,
    )
    .describe(
      'EK certificate file (PEM or DER) for a TPM without one in NV; further PEM certificates in it are sent as intermediates. When set, NV certificates are not read (NV CA certificates still are).',
    ),
  ak_handle: int({ min: 0x81000000, max: 0x81ffffff })
    .optional()
    .describe(
      'Persistent handle of a provisioned AK (a restricted signing key, e.g. `0x81010010`), used instead of the AK file in `ak_data_dir`.',
    ),
  ak_algorithm: enumOf(['rsa', 'ecc'])
    .default('rsa')
    .describe('The AK: `rsa` (RSA-2048, RSASSA-SHA256) or `ecc` (NIST P-256, ECDSA-SHA256).'),
  ak_data_dir: string()
    .default(DEFAULT_AK_DATA_DIR)
    .check((dir) =>
      dir.startsWith('/') ? undefined : `expected an absolute directory path, got ${JSON.stringify(dir.slice(0, 60))}`,
    )
    .describe(
      'Directory (created 0700) where the AK is kept (`tpm-ak-<alg>-ek-<EK Name prefix>.json`: public area and EK-wrapped private area; the AK is a child of the EK), so it survives agent restarts; also holds the TPM identity cache file (`tpm-identity-cache.json`, see `identity_cache_max_age`).',
    ),
  event_log_path: string({ allowEmpty: true })
    .default(DEFAULT_EVENT_LOG_PATH)
    .check((p) =>
      p === '' || p.startsWith('/')
        ? undefined
        : `expected an absolute file path or "", got ${JSON.stringify(p.slice(0, 60))}`,
    )
    .describe(
      'TCG event log sent with the quote (at most 1 MiB), for the server\'s `event_log` check and boot selectors. A missing file sends none (the server decides); `""` never sends one; a file that exists but cannot be read fails attestation naming it.',
    ),
  identity_cache_max_age: duration({ max: '24h' })
    .default('1h')
    .describe(
      'How long the TPM identity read by an attestation (TPM facts, EK, its NV certificate and CA certificates, the `ak_handle` public) is reused by later attestations, each confirming it by reading the EK and AK publics; it is also kept in `ak_data_dir` (`tpm-identity-cache.json`, public data only), so the first attestation after an agent restart reuses it too. Re-read at once when they differ, a TPM command fails, an attestation fails, the TPM was reset, the plugin configuration changed or the file is not valid. `"0s"` re-reads everything at every attestation and keeps no file.',
    ),
  log_level: enumOf(['trace', 'debug', 'info', 'warn', 'error'])
    .optional()
    .describe('Plugin log level; SPIRE filters further by its own log_level.'),
});

/** Parsed agent configuration. */
export interface AgentConfig {
  trustDomain: string;
  logLevel?: LogLevel;
  tpm: string;
  ekAlgorithm: ConfigOf<typeof agentConfigSchema>['ek_algorithm'];
  akAlgorithm: ConfigOf<typeof agentConfigSchema>['ak_algorithm'];
  akDataDir: string;
  /** "" = never send an event log. */
  eventLogPath: string;
  ekCertificatePath?: string;
  akHandle?: number;
  /** identity_cache_max_age in milliseconds (0: no cache). */
  identityCacheMaxAgeMs: number;
}

/** Parses the agent's plugin_data (every problem reported, each naming its key). */
export const configureAgent: ConfigureHook<AgentConfig> = (core, hcl) => {
  const built = agentConfigSchema.build(core.trustDomain, hcl);
  if (!built.ok) return { notes: built.notes };
  const c = built.config;
  return {
    config: {
      trustDomain: built.trustDomain,
      logLevel: c.log_level,
      tpm: c.tpm,
      ekAlgorithm: c.ek_algorithm,
      akAlgorithm: c.ak_algorithm,
      akDataDir: c.ak_data_dir,
      eventLogPath: c.event_log_path,
      ekCertificatePath: c.ek_certificate_path,
      akHandle: c.ak_handle,
      identityCacheMaxAgeMs: c.identity_cache_max_age,
    },
  };
};
