// tpm-quote boot-policy: a boot policy (the server's boot_policy_path) allowing what this log booted.
import { eventlog, keylimeMbRefstateFromLog, parseKeylimeMbRefstate } from '../../tpm';
import { stringOption, type Command } from '../command';
import { badInput } from '../exit-codes';
import { writeOutput } from '../io';
import { loadEventLog, LOG_OPTIONS_HELP } from './event-log-input';

export const bootPolicyCommand: Command = {
  name: 'boot-policy',
  summary: 'a boot policy JSON (boot_policy_path) allowing the Secure Boot state and boot chain in a log',
  help:
    'Usage: tpm-quote boot-policy [--log FILE] [--tpm SPEC] [--keylime] [--out FILE]\n\n' +
    "Writes a boot policy from the log's boot facts: Secure Boot required when it was on, the PK, KEK, db\n" +
    'and dbx digests, boot applications, kernel, initrds and command line it shows. Review it before use:\n' +
    'it allows exactly this boot. Use --tpm on the machine itself so the facts come from a verified replay.\n\n' +
    `${LOG_OPTIONS_HELP}\n` +
    "  --keylime        write a Keylime measured-boot reference state instead (Keylime's example policy;\n" +
    "                   the server's keylime.mb_refstate_path), the shape keylime-policy create measured-boot writes\n" +
    '  --out FILE       write the policy there instead of stdout\n',
  options: {
    log: { type: 'string' },
    tpm: { type: 'string' },
    keylime: { type: 'boolean' },
    out: { type: 'string' },
  },
  async run(values, io) {
    const { log, verified } = await loadEventLog(values);
    if (values.keylime === true) {
      writeOutput(io, stringOption(values, 'out'), `${JSON.stringify(keylimeRefstate(log), null, 2)}\n`);
      return;
    }
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

// Through the server's own check: what is written is a reference state the server loads.
function keylimeRefstate(log: eventlog.EventLog) {
  try {
    const state = keylimeMbRefstateFromLog(log);
    parseKeylimeMbRefstate(JSON.stringify(state));
    return state;
  } catch (err) {
    // What the log lacks (MbRefstateFromLogError) or a Secure Boot variable that does not decode (EventLogError).
    throw badInput(`the log makes no Keylime reference state: ${(err as Error).message}`, err);
  }
}
