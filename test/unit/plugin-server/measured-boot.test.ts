// The server's measured-boot configuration (event_log, boot_policy_path) and its event_log / boot_policy checks,
// on test-made logs whose PCR values are their own replay (the quote check before these is tested elsewhere).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttestationError } from '../../../plugin-server/attestation-error';
import { configureServer } from '../../../plugin-server/config';
import { checkMeasuredBoot, type MeasuredBootConfig } from '../../../plugin-server/measured-boot';
import { Code } from '../../../plugin-sdk';
import { encodeEventLog, replayEventLog, type EventLog } from '../../../tpm/eventlog';
import { makeBootLog } from '../../helpers/boot-log';
import { thrown } from '../../helpers/thrown';

let dir: string;
const H = 'ab'.repeat(32);
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tpmq-unit-boot-'));
  writeFileSync(join(dir, 'hashes.txt'), `${H}\n`);
  writeFileSync(join(dir, 'sb.json'), JSON.stringify({ require_secure_boot: true }));
  writeFileSync(join(dir, 'apps.json'), JSON.stringify({ allowed_boot_apps: ['cd'.repeat(32)] }));
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ require_secure_boot: 'yes' }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const build = (extra: string) =>
  configureServer({ trustDomain: 'example.org' }, `ek_hash_path = "${join(dir, 'hashes.txt')}"\n${extra}`);
const notes = (extra: string): string[] => {
  const r = build(extra);
  return 'notes' in r ? r.notes : [];
};

describe('server config: event_log and boot_policy_path', () => {
  test('default: event_log = "optional", no boot policy (a node without a log attests as before)', () => {
    const r = build('');
    if (!('config' in r)) throw new Error(r.notes.join('; '));
    expect(r.config.eventLog).toBe('optional');
    expect(r.config.bootPolicy).toBeUndefined();
  });

  test.each(['ignore', 'optional', 'required'])('event_log = "%s"', (mode) => {
    const r = build(`event_log = "${mode}"\n`);
    expect('config' in r && r.config.eventLog).toBe(mode);
  });

  test('a boot policy is loaded, its path kept for refusals', () => {
    const r = build(`boot_policy_path = "${join(dir, 'sb.json')}"\n`);
    if (!('config' in r)) throw new Error(r.notes.join('; '));
    expect(r.config.bootPolicy).toEqual({ require_secure_boot: true });
    expect(r.config.bootPolicyPath).toBe(join(dir, 'sb.json'));
  });

  test.each([
    ['event_log = "always"\n', /^key "event_log": expected one of "ignore", "optional", "required", got "always"$/],
    [
      `event_log = "ignore"\nboot_policy_path = "${'/x.json'}"\n`,
      /^key "boot_policy_path": needs event_log = "optional" or "required" \(event_log is "ignore"\)$/,
    ],
    [`boot_policy_path = "/nonexistent/p.json"\n`, /^key "boot_policy_path": \/nonexistent\/p.json: cannot read/],
    [
      'boot_policy_path = "BAD"\n',
      /^key "boot_policy_path": .*bad\.json: boot policy require_secure_boot: must be true or false$/,
    ],
    [
      'boot_policy_path = "SB"\npcr_selection = "sha256:0-6"\n',
      /^key "boot_policy_path": rule require_secure_boot reads PCR 7, which pcr_selection \("sha256:0,1,2,3,4,5,6"\) does not quote$/,
    ],
    [
      'boot_policy_path = "APPS"\npcr_selection = "sha1:0-7"\n',
      /^key "boot_policy_path": rule allowed_boot_apps reads PCR 4 in the sha256 bank, which pcr_selection \("sha1:0,1,2,3,4,5,6,7"\) does not quote$/,
    ],
  ])('%j -> one note naming the key', (hcl, note) => {
    const text = hcl
      .replace('"BAD"', JSON.stringify(join(dir, 'bad.json')))
      .replace('"SB"', JSON.stringify(join(dir, 'sb.json')))
      .replace('"APPS"', JSON.stringify(join(dir, 'apps.json')));
    const n = notes(text);
    expect(n).toHaveLength(1);
    expect(n[0]).toMatch(note);
  });

  test('Secure Boot rules accept PCR 7 in any bank', () => {
    expect(notes(`boot_policy_path = "${join(dir, 'sb.json')}"\npcr_selection = "sha1:7"\n`)).toEqual([]);
  });
});

describe('checkMeasuredBoot', () => {
  const boot = makeBootLog({ banks: ['sha1', 'sha256'] });
  const bytes = encodeEventLog(boot.log);
  const pcrs = replayEventLog(boot.log);
  const optional: MeasuredBootConfig = { eventLog: 'optional' };

  test('a log that replays yields the boot selectors, secure_boot:enabled among them', () => {
    const s = checkMeasuredBoot(optional, bytes, pcrs);
    expect(s).toContain('secure_boot:enabled');
    expect(s).toContain(`secure_boot_db:${boot.expect.db}`);
    for (const app of boot.expect.bootApps) expect(s).toContain(`boot_app:${app}`);
    expect(s).toContain(`kernel:${boot.expect.kernel}`);
  });

  test('optional and no log: no boot selectors, no refusal; ignore never reads the log', () => {
    expect(checkMeasuredBoot(optional, new Uint8Array(), pcrs)).toEqual([]);
    expect(checkMeasuredBoot({ eventLog: 'ignore' }, Uint8Array.of(1, 2, 3), pcrs)).toEqual([]);
  });

  test('required and no log: PermissionDenied by the event_log check', () => {
    const err = thrown(AttestationError, () => checkMeasuredBoot({ eventLog: 'required' }, new Uint8Array(), pcrs));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.reason).toBe('event_log');
    expect(err.message).toMatch(/^event log check failed: the agent sent no event log \(event_log = "required"/);
  });

  test('an event appended without extend: PermissionDenied naming PCR, bank and event', () => {
    const log: EventLog = boot.log;
    const extra = { ...log.events[log.events.length - 1], index: log.events.length };
    const appended = encodeEventLog({ ...log, events: [...log.events, extra] });
    const err = thrown(AttestationError, () => checkMeasuredBoot(optional, appended, pcrs));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.reason).toBe('event_log');
    expect(err.message).toMatch(
      new RegExp(`^event log check failed: PCR sha1:${extra.pcr}: .*event ${extra.index} \\(EV_IPL\\)`),
    );
  });

  test('a log that does not decode: InvalidArgument naming challenge_response.event_log', () => {
    const err = thrown(AttestationError, () => checkMeasuredBoot(optional, bytes.subarray(0, bytes.length - 3), pcrs));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe('malformed');
    expect(err.message).toMatch(/^malformed challenge_response\.event_log: /);
  });

  test('a boot policy rule the facts break: PermissionDenied naming the rule and the policy file; control passes', () => {
    const off = makeBootLog({ banks: ['sha256'], secureBoot: false });
    const policy: MeasuredBootConfig = {
      eventLog: 'optional',
      bootPolicy: { require_secure_boot: true },
      bootPolicyPath: '/etc/boot.json',
    };
    const err = thrown(AttestationError, () =>
      checkMeasuredBoot(policy, encodeEventLog(off.log), replayEventLog(off.log)),
    );
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.reason).toBe('boot_policy');
    expect(err.message).toMatch(/^boot policy check failed: .*require_secure_boot.*\(policy \/etc\/boot\.json\)$/);
    expect(checkMeasuredBoot(policy, bytes, pcrs)).toContain('secure_boot:enabled');
    // With a policy, an optional log that is absent proves nothing: the rule fails.
    expect(thrown(AttestationError, () => checkMeasuredBoot(policy, new Uint8Array(), pcrs)).reason).toBe(
      'boot_policy',
    );
  });
});
