// Measured boot on the server: the boot policy file (loaded at Configure, its PCRs checked against
// pcr_selection) and the event_log and boot_policy checks, which run after the quote check on the PCR values
// the quote signed: replay the log against them, read the boot facts, derive the boot selectors, judge the policy.
import { eventlog, formatPcrSelection, hashAlgId, type PcrValues, selectedPcrs, type TpmsPcrSelection } from '../tpm';
import { malformed, refused } from './attestation-error';
import { readTrustFile } from './trust-files';

/** What the server does with the agent's event log. */
export const EVENT_LOG_MODES = ['ignore', 'optional', 'required'] as const;
export type EventLogMode = (typeof EVENT_LOG_MODES)[number];

/**
 * The PCRs each boot policy rule reads its facts from, and whether the facts need the sha256 bank (digests of
 * loaded files are taken from that bank's event digests; the others are hashes of verified event data).
 */
const RULE_PCRS: Record<eventlog.BootPolicyRule, { pcrs: readonly number[]; sha256: boolean }> = {
  require_secure_boot: { pcrs: [7], sha256: false },
  allowed_pk: { pcrs: [7], sha256: false },
  allowed_kek: { pcrs: [7], sha256: false },
  allowed_db: { pcrs: [7], sha256: false },
  allowed_dbx: { pcrs: [7], sha256: false },
  allowed_boot_apps: { pcrs: [4], sha256: true },
  allowed_kernels: { pcrs: [8, 9], sha256: true },
  allowed_initrds: { pcrs: [8, 9], sha256: true },
  allowed_kernel_cmdlines: { pcrs: [8], sha256: false },
};

/**
 * Problems with a policy's rules against pcr_selection: each rule's PCRs must be quoted (in the sha256 bank for
 * the digest-of-file rules), else the rule could never pass and every node would be refused.
 */
export function bootPolicySelectionNotes(
  policy: eventlog.BootPolicy,
  selection: readonly TpmsPcrSelection[],
): string[] {
  const sha256 = selection.find((s) => s.hash === hashAlgId('sha256'));
  const inSha256 = new Set(sha256 ? selectedPcrs(sha256) : []);
  const inAny = new Set(selection.flatMap((s) => selectedPcrs(s)));
  const notes: string[] = [];
  for (const rule of Object.keys(policy) as eventlog.BootPolicyRule[]) {
    if (rule === 'require_secure_boot' && policy.require_secure_boot !== true) continue;
    const { pcrs, sha256: needsSha256 } = RULE_PCRS[rule];
    const quoted = needsSha256 ? inSha256 : inAny;
    const missing = pcrs.filter((p) => !quoted.has(p));
    if (missing.length > 0)
      notes.push(
        `key "boot_policy_path": rule ${rule} reads PCR ${missing.join(', ')}${needsSha256 ? ' in the sha256 bank' : ''}, which pcr_selection ("${formatPcrSelection(selection)}") does not quote`,
      );
  }
  return notes;
}

/** Reads and parses the boot policy file; problems name the key and the file. */
export function loadBootPolicy(
  path: string,
  selection: readonly TpmsPcrSelection[],
): { policy: eventlog.BootPolicy } | { notes: string[] } {
  let policy: eventlog.BootPolicy;
  try {
    policy = eventlog.parseBootPolicy(readTrustFile(path, eventlog.MAX_BOOT_POLICY_BYTES));
  } catch (err) {
    return { notes: [`key "boot_policy_path": ${path}: ${(err as Error).message}`] };
  }
  const notes = bootPolicySelectionNotes(policy, selection);
  return notes.length > 0 ? { notes } : { policy };
}

/** What the measured-boot checks need of the configuration. */
export interface MeasuredBootConfig {
  eventLog: EventLogMode;
  bootPolicyPath?: string;
  bootPolicy?: eventlog.BootPolicy;
}

/**
 * The event_log check then the boot_policy check, on PCR values from a quote that passed the quote check.
 * Returns the boot selectors (none when the mode is "ignore" or an optional log is absent). A log that does not
 * decode is InvalidArgument (challenge_response.event_log); one whose replay differs from a quoted PCR is
 * PermissionDenied naming PCR, bank and event; a policy rule the facts break is PermissionDenied naming the rule.
 */
export function checkMeasuredBoot(config: MeasuredBootConfig, logBytes: Uint8Array, pcrs: PcrValues): string[] {
  if (config.eventLog === 'ignore') return [];
  let facts: eventlog.BootFacts = {};
  if (logBytes.length === 0) {
    if (config.eventLog === 'required')
      throw refused(
        'event_log',
        'the agent sent no event log (event_log = "required"; see the agent\'s event_log_path)',
      );
  } else {
    try {
      const verified = eventlog.verifyEventLog({ log: eventlog.parseEventLog(logBytes), pcrs });
      facts = eventlog.extractBootFacts(verified);
    } catch (err) {
      throw eventLogRefusal(err, 'event_log');
    }
  }
  if (config.bootPolicy) {
    try {
      eventlog.evaluateBootPolicy(config.bootPolicy, facts);
    } catch (err) {
      throw eventLogRefusal(err, 'boot_policy', ` (policy ${config.bootPolicyPath})`);
    }
  }
  return eventlog.bootSelectors(facts);
}

function eventLogRefusal(err: unknown, check: 'event_log' | 'boot_policy', suffix = '') {
  if (!(err instanceof eventlog.EventLogError)) throw err;
  if (err.kind === 'malformed') return malformed('challenge_response.event_log', err.message, err);
  // The caller is told about its own evidence only; the policy file's path goes to the server's log.
  return refused(check, `${err.message}${suffix}`, err.message, err);
}
