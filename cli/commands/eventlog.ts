// tpm-quote eventlog: the parsed log, the PCRs it replays to and the boot facts read from it.
import { eventlog } from '../../tpm';
import { type Command } from '../command';
import { hex } from '../io';
import { loadEventLog, LOG_OPTIONS_HELP, type LoadedLog } from './event-log-input';

const digestsOf = (e: eventlog.LogEvent): Record<string, string> =>
  Object.fromEntries(Object.entries(e.digests).map(([bank, d]) => [bank, hex(d!)]));

function report({ log, verified, tpm }: LoadedLog) {
  return {
    format: log.format,
    banks: log.banks,
    events: log.events.map((e) => ({ index: e.index, pcr: e.pcr, type: e.typeName, digests: digestsOf(e) })),
    pcrs: Object.fromEntries(
      Object.entries(eventlog.replayEventLog(log)).map(([bank, v]) => [
        bank,
        Object.fromEntries(Object.entries(v!).map(([pcr, d]) => [pcr, hex(d)])),
      ]),
    ),
    verifiedAgainst: tpm ?? null,
    facts: eventlog.extractBootFacts(verified),
  };
}

function text(r: ReturnType<typeof report>): string {
  const lines = [`${r.format} log, banks ${r.banks.join(', ')}, ${r.events.length} events`];
  for (const e of r.events) {
    const d = Object.entries(e.digests).map(([b, v]) => `${b}:${v}`);
    lines.push(`#${e.index} PCR ${e.pcr} ${e.type}${d.length ? `\n    ${d.join('\n    ')}` : ''}`);
  }
  lines.push(
    r.verifiedAgainst
      ? `PCRs (equal to ${r.verifiedAgainst}'s):`
      : 'PCRs replayed from the log (not compared with a TPM):',
  );
  for (const [bank, v] of Object.entries(r.pcrs))
    for (const [pcr, d] of Object.entries(v)) lines.push(`  ${bank}:${pcr} ${d}`);
  lines.push(`boot facts${r.verifiedAgainst ? '' : ' (as the log claims them)'}:`, JSON.stringify(r.facts, null, 2));
  return `${lines.join('\n')}\n`;
}

export const eventlogCommand: Command = {
  name: 'eventlog',
  summary: 'the parsed TCG event log, its replayed PCRs and boot facts; --tpm compares with the TPM',
  help:
    'Usage: tpm-quote eventlog [--log FILE] [--tpm SPEC] [--json]\n\n' +
    'Parses the event log as the server does (bounded, crypto-agile or SHA-1), replays it and prints each\n' +
    'event, the PCR values it replays to and the boot facts (Secure Boot, boot applications, kernel command\n' +
    "line...). With --tpm, a replay that differs from the TPM's PCRs is exit 5 naming the PCR, bank and event.\n\n" +
    `${LOG_OPTIONS_HELP}\n` +
    '  --json           print one JSON object: format, banks, events, pcrs, verifiedAgainst, facts\n',
  options: { log: { type: 'string' }, tpm: { type: 'string' }, json: { type: 'boolean' } },
  async run(values, io) {
    const r = report(await loadEventLog(values));
    io.stdout(values.json ? `${JSON.stringify(r, null, 2)}\n` : text(r));
  },
};
