// Boot policy and selectors over facts from real logs (go-eventlog v0.0.2): each rule passes on the facts it
// was written from, and refuses, naming the rule, when the fact differs or is missing.
import {
  bootPolicyFromFacts,
  bootSelectors,
  BOOT_SELECTOR_TYPES,
  evaluateBootPolicy,
  EventLogError,
  extractBootFacts,
  parseBootPolicy,
  parseEventLog,
  replayEventLog,
  verifyEventLog,
  type BootFacts,
} from '../../../../tpm/eventlog';
import { realEventLog } from '../../../helpers/go-testdata';
import { thrown } from '../../../helpers/thrown';

function factsOf(name: string, dropPcrs: number[] = []): BootFacts {
  const log = parseEventLog(realEventLog(name).bytes);
  const sha256 = { ...replayEventLog(log, ['sha256']).sha256 };
  for (const p of dropPcrs) delete sha256[p];
  return extractBootFacts(verifyEventLog({ log, pcrs: { sha256 } }));
}

const secure = factsOf('sb_cert_eventlog');
const ubuntu = factsOf('ubuntu-2404-amd-sevsnp.bin');
const D = (c: string) => c.repeat(64);

describe('parseBootPolicy', () => {
  it('reads every rule', () => {
    const p = parseBootPolicy(
      JSON.stringify({
        require_secure_boot: true,
        allowed_db: [D('a')],
        allowed_dbx: [],
        allowed_boot_apps: [D('b')],
        allowed_kernel_cmdlines: ['ro quiet'],
      }),
    );
    expect(p).toEqual({
      require_secure_boot: true,
      allowed_db: [D('a')],
      allowed_dbx: [],
      allowed_boot_apps: [D('b')],
      allowed_kernel_cmdlines: ['ro quiet'],
    });
  });

  it.each([
    ['not JSON', '{', /^boot policy is not JSON: /, undefined],
    ['not an object', '[]', /^boot policy must be a JSON object$/, undefined],
    [
      'unknown key',
      '{"require_secureboot": true}',
      /^boot policy: unknown key "require_secureboot" \(known: require_secure_boot, /,
      'require_secureboot',
    ],
    [
      'boolean as string',
      '{"require_secure_boot": "yes"}',
      /^boot policy require_secure_boot: must be true or false$/,
      'require_secure_boot',
    ],
    ['list not a list', '{"allowed_db": "aa"}', /^boot policy allowed_db: must be a list$/, 'allowed_db'],
    [
      'uppercase digest',
      `{"allowed_boot_apps": ["${D('A')}"]}`,
      /^boot policy allowed_boot_apps\[0\]: must be 64 lowercase hex characters/,
      'allowed_boot_apps',
    ],
    [
      'short digest',
      '{"allowed_kernels": ["abcd"]}',
      /^boot policy allowed_kernels\[0\]: must be 64 lowercase hex/,
      'allowed_kernels',
    ],
    [
      'cmdline not a string',
      '{"allowed_kernel_cmdlines": [1]}',
      /^boot policy allowed_kernel_cmdlines\[0\]: must be a string/,
      'allowed_kernel_cmdlines',
    ],
  ])('%s: BOOT_POLICY_MALFORMED', (_n, text, message, rule) => {
    const err = thrown(EventLogError, () => parseBootPolicy(text));
    expect(err.code).toBe('BOOT_POLICY_MALFORMED');
    expect(err.kind).toBe('malformed');
    expect(err.message).toMatch(message);
    expect(err.detail.rule).toBe(rule);
  });
});

describe('evaluateBootPolicy', () => {
  it('the policy derived from a boot accepts that boot, and an empty policy accepts anything', () => {
    for (const f of [secure, ubuntu]) {
      const p = bootPolicyFromFacts(f);
      expect(parseBootPolicy(JSON.stringify(p))).toEqual(p);
      expect(() => evaluateBootPolicy(p, f)).not.toThrow();
      expect(() => evaluateBootPolicy({}, f)).not.toThrow();
    }
    expect(bootPolicyFromFacts(secure).require_secure_boot).toBe(true);
    expect(bootPolicyFromFacts(ubuntu).allowed_kernels).toEqual([ubuntu.kernel!.digests.sha256]);
  });

  const refusal = (policy: object, facts: BootFacts) =>
    thrown(EventLogError, () => evaluateBootPolicy(parseBootPolicy(JSON.stringify(policy)), facts));

  it.each<[string, () => object, () => BootFacts, RegExp]>([
    [
      'require_secure_boot',
      () => ({ require_secure_boot: true }),
      () => ubuntu,
      /^boot policy rule require_secure_boot: Secure Boot is disabled$/,
    ],
    [
      'require_secure_boot',
      () => ({ require_secure_boot: true }),
      () => factsOf('sb_cert_eventlog', [7]),
      /no verified Secure Boot state \(PCR 7 was not quoted or did not replay\)/,
    ],
    [
      'allowed_db',
      () => ({ allowed_db: [D('0')] }),
      () => secure,
      new RegExp(
        `^boot policy rule allowed_db: Secure Boot variable db ${secure.secureBoot!.variables.db} is not allowed$`,
      ),
    ],
    [
      'allowed_dbx',
      () => ({ allowed_dbx: [] }),
      () => secure,
      /allowed_dbx: Secure Boot variable dbx [0-9a-f]{64} is not allowed/,
    ],
    ['allowed_kek', () => ({ allowed_kek: [D('1')] }), () => secure, /allowed_kek: Secure Boot variable KEK/],
    ['allowed_pk', () => ({ allowed_pk: [D('1')] }), () => secure, /allowed_pk: Secure Boot variable PK/],
    [
      'allowed_boot_apps',
      () => ({ allowed_boot_apps: [ubuntu.bootApps![0].digests.sha256] }),
      () => ubuntu,
      new RegExp(`boot application ${ubuntu.bootApps![1].digests.sha256} is not allowed$`),
    ],
    [
      'allowed_boot_apps',
      () => ({ allowed_boot_apps: [] }),
      () => factsOf('ubuntu-2404-amd-sevsnp.bin', [4]),
      /no verified boot application \(its PCR was not quoted or did not replay\)/,
    ],
    [
      'allowed_kernels',
      () => ({ allowed_kernels: [D('2')] }),
      () => ubuntu,
      /allowed_kernels: kernel [0-9a-f]{64} is not allowed/,
    ],
    [
      'allowed_kernels',
      () => ({ allowed_kernels: [D('2')] }),
      () => factsOf('ubuntu-2404-amd-sevsnp.bin', [9]),
      /allowed_kernels: no verified kernel/,
    ],
    [
      'allowed_kernel_cmdlines',
      () => ({ allowed_kernel_cmdlines: ['ro'] }),
      () => ubuntu,
      /^boot policy rule allowed_kernel_cmdlines: kernel command line \(sha256 [0-9a-f]{64}\) is not allowed$/,
    ],
    [
      'allowed_kernel_cmdlines',
      () => ({ allowed_kernel_cmdlines: ['ro'] }),
      () => factsOf('ubuntu-2404-amd-sevsnp.bin', [8]),
      /no verified kernel command line/,
    ],
  ])('%s refuses', (rule, policy, facts, message) => {
    const err = refusal(policy(), facts());
    expect(err.code).toBe('BOOT_POLICY_REFUSED');
    expect(err.kind).toBe('rejected');
    expect(err.detail.rule).toBe(rule);
    expect(err.message).toMatch(message);
  });

  it('Secure Boot on but weakened (a debug-mode action in PCR 7) is refused by require_secure_boot', () => {
    const weakened: BootFacts = {
      ...secure,
      secureBoot: { ...secure.secureBoot!, state: 'disabled', weakened: ['UEFI Debug Mode'] },
    };
    expect(refusal({ require_secure_boot: true }, weakened).message).toBe(
      'boot policy rule require_secure_boot: Secure Boot is disabled (UEFI Debug Mode)',
    );
  });
});

describe('bootSelectors', () => {
  it('sb_cert_eventlog: secure_boot:enabled, the variables, the post-separator authorities, boot apps', () => {
    const s = bootSelectors(secure);
    expect(s).toContain('secure_boot:enabled');
    expect(s).toContain(`secure_boot_db:${secure.secureBoot!.variables.db}`);
    expect(s.filter((x) => x.startsWith('boot_authority:'))).toHaveLength(
      new Set(secure.secureBoot!.authorities.map((a) => a.sha256)).size,
    );
    expect(s.filter((x) => x.startsWith('boot_app:'))).toHaveLength(secure.bootApps!.length);
  });

  it('every selector is a declared type with a bounded value, and every declared type is emitted by some real log', () => {
    const all = [secure, ubuntu, factsOf('coreos_36_shielded_vm_no_secure_boot_eventlog')].flatMap(bootSelectors);
    const types = new Set(BOOT_SELECTOR_TYPES.map(([t]) => t));
    for (const s of all) {
      expect(types.has(s.slice(0, s.indexOf(':')) as never)).toBe(true);
      expect(s.length).toBeLessThanOrEqual(96);
    }
    for (const t of types) expect(all.some((s) => s.startsWith(`${t}:`))).toBe(true);
  });

  it('no sha256 bank verified: no digest selectors (SHA-1 legacy log), but the Secure Boot state', () => {
    const log = parseEventLog(realEventLog('debian-10.bin').bytes);
    const s = bootSelectors(extractBootFacts(verifyEventLog({ log, pcrs: replayEventLog(log) })));
    expect(s.filter((x) => /^(boot_app|kernel|initrd|mok):/.test(x))).toEqual([]);
    expect(s).toContain('secure_boot:enabled');
  });
});
