// tpm-quote boot-policy: a boot policy (the server's boot_policy_path) allowing what this log booted.
import { eventlog } from '../../tpm';
import { stringOption, type Command } from '../command';
import { badInput } from '../exit-codes';
import { writeOutput } from '../io';
import { loadEventLog, LOG_OPTIONS_HELP } from './event-log-input';

export const bootPolicyCommand: Command = {
  name: 'boot-policy',
  summary: 'a boot policy JSON (boot_policy_path) allowing the Secure Boot state and boot chain in a log',
  help:
    'Usage: tpm-quote boot-policy [--log FILE] [--tpm SPEC] [--out FILE]\n\n' +
    "Writes a boot policy from the log's boot facts: Secure Boot required when it was on, the PK, KEK, db\n" +
    'and dbx digests, boot applications, kernel, initrds and command line it shows. Review it before use:\n' +
    'it allows exactly this boot. Use --tpm on the machine itself so the facts come from a verified replay.\n\n' +
    `${LOG_OPTIONS_HELP}\n` +
    '  --out FILE       write the policy there instead of stdout\n',
  options: { log: { type: 'string' }, tpm: { type: 'string' }, out: { type: 'string' } },
  async run(values, io) {
    const { verified } = await loadEventLog(values);
    const policy = eventlog.bootPolicyFromFacts(eventlog.extractBootFacts(verified));
    // Through the server's own parser: what is written is a policy the server loads.
    const textOut = `${JSON.stringify(policy, null, 2)}\n`;
    try {
      eventlog.parseBootPolicy(textOut);
    } catch (err) {
      throw badInput(`the log's boot facts make no usable boot policy: ${(err as Error).message}`, err);
    }
    writeOutput(io, stringOption(values, 'out'), textOut);
  },
};
