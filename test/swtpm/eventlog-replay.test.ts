// A test-made boot log (Secure Boot on, shim -> grub -> kernel) whose events are extended into swtpm with
// tpm2_pcrextend: our replay equals swtpm's PCRs in all three banks, and the facts and selectors follow.
// Then the log and the TPM are made to disagree in the two directions a tampered log would.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashSize, type HashName } from '../../tpm/crypto/hash';
import {
  bootSelectors,
  encodeEventLog,
  EV,
  EventLogError,
  extractBootFacts,
  parseEventLog,
  replayEventLog,
  verifyEventLog,
} from '../../tpm/eventlog';
import type { PcrValues } from '../../tpm/types/pcr';
import { makeBootLog, pcrExtendArgs } from '../helpers/boot-log';
import { useSwtpmTools } from '../helpers/swtpm';
import { thrown } from '../helpers/thrown';
import { runTpm2Eventlog } from './eventlog-tool';

const env = useSwtpmTools('eventlog');
const BANKS: HashName[] = ['sha1', 'sha256', 'sha384'];
const PCRS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14];

/** swtpm's PCRS in BANKS (tpm2_pcrread -o writes them in selection order). */
function readSwtpm(): PcrValues {
  env.tool('tpm2_pcrread', BANKS.map((b) => `${b}:${PCRS.join(',')}`).join('+'), '-o', 'pcrs.bin');
  const raw = Buffer.from(env.read('pcrs.bin'));
  const out: Record<string, Record<number, Uint8Array>> = {};
  let at = 0;
  for (const b of BANKS) {
    out[b] = {};
    for (const p of PCRS) out[b][p] = new Uint8Array(raw.subarray(at, (at += hashSize(b))));
  }
  expect(at).toBe(raw.length);
  return out as PcrValues;
}

const boot = makeBootLog({ banks: BANKS });
// What travels: the encoded bytes, parsed again as a server would.
const bytes = encodeEventLog(boot.log);
const log = parseEventLog(bytes);

test('before the boot swtpm PCRs are zero; after extending every event they equal our replay in three banks', () => {
  const before = readSwtpm();
  for (const b of BANKS)
    for (const p of PCRS) expect(Buffer.from(before[b]![p]).equals(Buffer.alloc(hashSize(b)))).toBe(true);
  for (const arg of pcrExtendArgs(log)) env.tool('tpm2_pcrextend', arg);
  const quoted = readSwtpm();
  const v = verifyEventLog({ log, pcrs: quoted });
  for (const b of BANKS) expect([...v.verified[b]!].sort((x, y) => x - y)).toEqual(PCRS);
  // And tpm2_eventlog's replay of the same bytes agrees with the TPM too.
  writeFileSync(join(env.dir, 'boot.log'), bytes);
  const tool = runTpm2Eventlog(join(env.dir, 'boot.log'));
  if (!tool.ok) throw new Error(`tpm2_eventlog: ${tool.stderr}`);
  for (const b of BANKS)
    for (const p of PCRS) expect(tool.log.pcrs[b][p]).toBe(Buffer.from(quoted[b]![p]).toString('hex'));
});

test('facts and selectors from the verified log: Secure Boot enabled, shim and grub, the kernel, its command line', () => {
  const facts = extractBootFacts(verifyEventLog({ log, pcrs: readSwtpm() }));
  expect(facts.secureBoot).toMatchObject({ state: 'enabled', weakened: [], variables: { db: boot.expect.db } });
  expect(facts.bootApps!.map((a) => a.digests.sha256)).toEqual(boot.expect.bootApps);
  expect(facts.kernel!.digests.sha256).toBe(boot.expect.kernel);
  expect(facts.kernelCmdline).toBe(boot.expect.kernelCmdline);
  const selectors = bootSelectors(facts);
  expect(selectors).toEqual(
    expect.arrayContaining([
      'secure_boot:enabled',
      `secure_boot_db:${boot.expect.db}`,
      ...boot.expect.bootApps.map((d) => `boot_app:${d}`),
      `kernel:${boot.expect.kernel}`,
      `kernel_cmdline:${createHash('sha256').update(boot.expect.kernelCmdline).digest('hex')}`,
    ]),
  );
});

test('an event appended to the log without being extended is refused, naming that event', () => {
  const extra = { ...log.events[log.events.length - 1], index: log.events.length };
  const appended = parseEventLog(encodeEventLog({ ...log, events: [...log.events, extra] }));
  const err = thrown(EventLogError, () => verifyEventLog({ log: appended, pcrs: readSwtpm() }));
  expect(err.code).toBe('EVENT_LOG_PCR_MISMATCH');
  expect(err.detail).toEqual({ pcr: 8, bank: 'sha1', eventIndex: extra.index });
});

test('an extend the log does not record (PCR 4, sha256 only checked) is refused naming PCR 4 and the bank', () => {
  env.tool('tpm2_pcrextend', `4:sha1=${'11'.repeat(20)},sha256=${'22'.repeat(32)},sha384=${'33'.repeat(48)}`);
  const quoted = readSwtpm();
  const err = thrown(EventLogError, () => verifyEventLog({ log, pcrs: { sha256: quoted.sha256 } }));
  expect(err.code).toBe('EVENT_LOG_PCR_MISMATCH');
  const first4 = log.events.find((e) => e.pcr === 4 && e.type !== EV.EV_NO_ACTION)!;
  expect(err.detail).toEqual({ pcr: 4, bank: 'sha256', eventIndex: first4.index });
  // The other PCRs still replay: only PCR 4 is unexplained.
  const { 4: _x, ...rest } = quoted.sha256!;
  expect(verifyEventLog({ log, pcrs: { sha256: rest } }).verified.sha256!.size).toBe(PCRS.length - 1);
  expect(replayEventLog(log).sha256![4]).not.toEqual(quoted.sha256![4]);
});
