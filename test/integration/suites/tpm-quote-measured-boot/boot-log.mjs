// node boot-log.mjs DIR [--keylime]: a test-made Secure Boot log (test/helpers/boot-log.ts, sha1 + sha256 banks;
// with --keylime the sha256 bank only and the firmware shapes Keylime's parser and example policy read) as
// DIR/boot.bin, the same log with its last event appended again (never extended) as DIR/appended.bin, what its
// facts must be as DIR/expect.json, and on stdout the tpm2_pcrextend arguments that make a TPM match it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { loadTs } = await import(`${process.env.REPODIR}/scripts/lib/load-ts.mjs`);
const { makeBootLog, pcrExtendArgs, encodeEventLog } = await loadTs(`
export { makeBootLog, pcrExtendArgs } from './test/helpers/boot-log';
export { encodeEventLog } from './tpm/eventlog';
`);
const dir = process.argv[2];
const keylime = process.argv[3] === '--keylime';
const boot = makeBootLog(keylime ? { banks: ['sha256'], firmwareShapes: true } : { banks: ['sha1', 'sha256'] });
const { log } = boot;
const last = log.events[log.events.length - 1];
writeFileSync(join(dir, 'boot.bin'), encodeEventLog(log));
writeFileSync(
  join(dir, 'appended.bin'),
  encodeEventLog({ ...log, events: [...log.events, { ...last, index: log.events.length }] }),
);
writeFileSync(
  join(dir, 'expect.json'),
  JSON.stringify({ ...boot.expect, appendedIndex: log.events.length, appendedPcr: last.pcr }),
);
for (const a of pcrExtendArgs(log)) console.log(a);
