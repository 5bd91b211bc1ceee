// Boot policy: a JSON document of rules over boot facts. Every rule present must hold; a rule whose fact is
// absent (its PCR not quoted or not replayed) fails, so a policy can never pass on missing evidence.
import { createHash } from 'node:crypto';
import { EventLogError } from './errors';
import type { BootFacts, SecureBootVariable } from './facts';

/** A parsed boot policy. Lists hold lowercase hex SHA-256 digests unless said otherwise. */
export interface BootPolicy {
  /** Secure Boot must be `enabled` (measured on, nothing weakening it). */
  require_secure_boot?: boolean;
  allowed_pk?: string[];
  allowed_kek?: string[];
  allowed_db?: string[];
  allowed_dbx?: string[];
  /** Every EFI boot application loaded (PCR 4, Authenticode SHA-256) must be listed. */
  allowed_boot_apps?: string[];
  /** The kernel grub loaded must be listed. */
  allowed_kernels?: string[];
  /** Every initrd grub loaded must be listed. */
  allowed_initrds?: string[];
  /** The kernel command line must equal one of these strings exactly. */
  allowed_kernel_cmdlines?: string[];
}

export type BootPolicyRule = keyof BootPolicy;

const DIGEST_RULES = [
  'allowed_pk',
  'allowed_kek',
  'allowed_db',
  'allowed_dbx',
  'allowed_boot_apps',
  'allowed_kernels',
  'allowed_initrds',
] as const;
const RULES: readonly BootPolicyRule[] = ['require_secure_boot', ...DIGEST_RULES, 'allowed_kernel_cmdlines'];
/** Largest policy document accepted, in bytes. */
export const MAX_BOOT_POLICY_BYTES = 1024 * 1024;
const MAX_LIST = 10000;
const MAX_CMDLINE = 64 * 1024;

const malformed = (message: string, rule?: string): EventLogError =>
  new EventLogError('BOOT_POLICY_MALFORMED', message, rule ? { rule } : {});

function stringList(v: unknown, rule: string, check: (s: string) => boolean, what: string): string[] {
  if (!Array.isArray(v)) throw malformed(`boot policy ${rule}: must be a list`, rule);
  if (v.length > MAX_LIST) throw malformed(`boot policy ${rule}: more than ${MAX_LIST} entries`, rule);
  return v.map((s, i) => {
    if (typeof s !== 'string' || !check(s)) throw malformed(`boot policy ${rule}[${i}]: must be ${what}`, rule);
    return s;
  });
}

/**
 * Parses a boot policy from JSON text. Unknown keys, wrong types, digests that are not 64 lowercase hex
 * characters and oversized documents are BOOT_POLICY_MALFORMED naming the key. An empty object is a valid
 * policy that allows everything; `require_secure_boot: false` is the same as leaving it out.
 */
export function parseBootPolicy(text: string): BootPolicy {
  if (Buffer.byteLength(text, 'utf8') > MAX_BOOT_POLICY_BYTES)
    throw malformed(`boot policy exceeds ${MAX_BOOT_POLICY_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new EventLogError(
      'BOOT_POLICY_MALFORMED',
      `boot policy is not JSON: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw malformed('boot policy must be a JSON object');
  const policy: BootPolicy = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(RULES as readonly string[]).includes(key))
      throw malformed(`boot policy: unknown key ${JSON.stringify(key).slice(0, 80)} (known: ${RULES.join(', ')})`, key);
    if (key === 'require_secure_boot') {
      if (typeof value !== 'boolean') throw malformed('boot policy require_secure_boot: must be true or false', key);
      policy.require_secure_boot = value;
    } else if (key === 'allowed_kernel_cmdlines') {
      policy.allowed_kernel_cmdlines = stringList(
        value,
        key,
        (s) => s.length <= MAX_CMDLINE,
        `a string of at most ${MAX_CMDLINE} characters`,
      );
    } else {
      policy[key as (typeof DIGEST_RULES)[number]] = stringList(
        value,
        key,
        (s) => /^[0-9a-f]{64}$/.test(s),
        '64 lowercase hex characters (a SHA-256 digest)',
      );
    }
  }
  return policy;
}

const refused = (rule: BootPolicyRule, message: string): EventLogError =>
  new EventLogError('BOOT_POLICY_REFUSED', `boot policy rule ${rule}: ${message}`, { rule });

// A digest rule: every fact value must be listed; a missing fact (PCR not verified, or no sha256 bank) fails.
function requireListed(
  rule: BootPolicyRule,
  allowed: string[] | undefined,
  values: (string | undefined)[] | undefined,
  what: string,
): void {
  if (!allowed) return;
  if (values === undefined) throw refused(rule, `no verified ${what} (its PCR was not quoted or did not replay)`);
  const set = new Set(allowed);
  for (const v of values) {
    if (v === undefined) throw refused(rule, `${what} has no verified sha256 digest`);
    if (!set.has(v)) throw refused(rule, `${what} ${v} is not allowed`);
  }
}

/**
 * Checks boot facts against a policy, rules in the order of BootPolicy's keys; the first rule that fails is
 * BOOT_POLICY_REFUSED naming it (`detail.rule`). Checks only what the policy lists. The caller owes: facts
 * from `extractBootFacts` on a log verified against a verified quote, whose PCR selection covers the PCRs the
 * policy's rules read (7 for Secure Boot rules, 4 for boot apps, 8 and 9 for kernel rules).
 */
export function evaluateBootPolicy(policy: BootPolicy, facts: BootFacts): void {
  const sb = facts.secureBoot;
  if (policy.require_secure_boot) {
    if (!sb)
      throw refused('require_secure_boot', 'no verified Secure Boot state (PCR 7 was not quoted or did not replay)');
    if (sb.state !== 'enabled')
      throw refused(
        'require_secure_boot',
        `Secure Boot is ${sb.state}${sb.weakened.length ? ` (${sb.weakened.slice(0, 3).join('; ')})` : ''}`,
      );
  }
  const variable = (rule: BootPolicyRule, name: SecureBootVariable): void =>
    requireListed(
      rule,
      policy[rule] as string[] | undefined,
      sb && [sb.variables[name]],
      `Secure Boot variable ${name}`,
    );
  variable('allowed_pk', 'PK');
  variable('allowed_kek', 'KEK');
  variable('allowed_db', 'db');
  variable('allowed_dbx', 'dbx');
  requireListed(
    'allowed_boot_apps',
    policy.allowed_boot_apps,
    facts.bootApps?.map((a) => a.digests.sha256),
    'boot application',
  );
  requireListed('allowed_kernels', policy.allowed_kernels, facts.kernel && [facts.kernel.digests.sha256], 'kernel');
  requireListed(
    'allowed_initrds',
    policy.allowed_initrds,
    facts.initrds?.map((f) => f.digests.sha256),
    'initrd',
  );
  if (policy.allowed_kernel_cmdlines) {
    const cmdline = facts.kernelCmdline;
    if (cmdline === undefined)
      throw refused(
        'allowed_kernel_cmdlines',
        'no verified kernel command line (PCR 8 was not quoted, did not replay, or holds none)',
      );
    if (!policy.allowed_kernel_cmdlines.includes(cmdline))
      throw refused(
        'allowed_kernel_cmdlines',
        `kernel command line (sha256 ${createHash('sha256').update(cmdline).digest('hex')}) is not allowed`,
      );
  }
}

/** The policy that allows exactly what `facts` show (e.g. for `tpm-quote boot-policy`); rules without a fact are left out. */
export function bootPolicyFromFacts(facts: BootFacts): BootPolicy {
  const p: BootPolicy = {};
  const digests = (xs: (string | undefined)[] | undefined): string[] | undefined => {
    const list = xs?.filter((x): x is string => x !== undefined);
    return list && list.length === xs?.length ? [...new Set(list)] : undefined;
  };
  const sb = facts.secureBoot;
  if (sb) {
    if (sb.state === 'enabled') p.require_secure_boot = true;
    p.allowed_pk = digests(sb.variables.PK === undefined ? undefined : [sb.variables.PK]);
    p.allowed_kek = digests(sb.variables.KEK === undefined ? undefined : [sb.variables.KEK]);
    p.allowed_db = digests(sb.variables.db === undefined ? undefined : [sb.variables.db]);
    p.allowed_dbx = digests(sb.variables.dbx === undefined ? undefined : [sb.variables.dbx]);
  }
  p.allowed_boot_apps = digests(facts.bootApps?.map((a) => a.digests.sha256));
  p.allowed_kernels = digests(facts.kernel && [facts.kernel.digests.sha256]);
  p.allowed_initrds = digests(facts.initrds?.map((f) => f.digests.sha256));
  if (facts.kernelCmdline !== undefined) p.allowed_kernel_cmdlines = [facts.kernelCmdline];
  for (const k of Object.keys(p) as BootPolicyRule[]) if (p[k] === undefined) delete p[k];
  return p;
}
