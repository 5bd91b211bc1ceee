// The event log a subcommand reads (--log), replayed and, with --tpm, verified against the TPM's PCRs.
import { eventlog, hashAlgId, pcrSelection, type PcrValues } from '../../tpm';
import { stringOption, type Values } from '../command';
import { badInput, CliError, EXIT } from '../exit-codes';
import { readInput, withTpm } from '../io';

/** Where Linux exposes the firmware's TCG event log (the agent's event_log_path default). */
export const DEFAULT_EVENT_LOG = '/sys/kernel/security/tpm0/binary_bios_measurements';

export const LOG_OPTIONS_HELP =
  `  --log FILE       TCG PC Client event log (default ${DEFAULT_EVENT_LOG})\n` +
  "  --tpm SPEC       verify the replay against this TPM's PCRs (as the server does with quoted PCRs) before\n" +
  '                   reading boot facts; without it the facts are what the log claims, unverified';

export interface LoadedLog {
  log: eventlog.EventLog;
  verified: eventlog.VerifiedEventLog;
  /** The transport whose PCRs the replay matched, or undefined when only the log itself was replayed. */
  tpm?: string;
}

function fail(path: string, err: unknown): never {
  if (!(err instanceof eventlog.EventLogError)) throw err;
  const code = err.kind === 'malformed' ? EXIT.BAD_INPUT : EXIT.VERIFICATION_FAILED;
  throw new CliError(code, `event log ${path}: ${err.message} (${err.code})`, { cause: err });
}

// The TPM's values of every PCR the log extends and of the PCRs the log owns, in the banks both have.
async function tpmPcrs(spec: string | undefined, log: eventlog.EventLog): Promise<{ name: string; pcrs: PcrValues }> {
  return withTpm(spec, async (tpm) => {
    const allocated = new Set((await tpm.getInfo()).pcrBanks.map((b) => b.hashName));
    const banks = log.banks.filter((b) => allocated.has(b));
    if (banks.length === 0) throw badInput(`the TPM has none of the event log's banks (${log.banks.join(', ')})`);
    const replayed = eventlog.replayEventLog(log, banks);
    const selection = banks.map((b) =>
      pcrSelection(
        hashAlgId(b),
        new Set([...Object.keys(replayed[b] ?? {}).map(Number), ...eventlog.PLATFORM_FIRMWARE_PCRS]),
      ),
    );
    return { name: tpm.transport.name, pcrs: await tpm.readPcrs(selection) };
  });
}

/** Reads --log, parses and replays it; with --tpm, verifies it against that TPM's PCRs. */
export async function loadEventLog(values: Values): Promise<LoadedLog> {
  const path = stringOption(values, 'log') ?? DEFAULT_EVENT_LOG;
  const bytes = readInput('--log', path, eventlog.MAX_EVENT_LOG_BYTES);
  let log: eventlog.EventLog;
  try {
    log = eventlog.parseEventLog(bytes);
  } catch (err) {
    fail(path, err);
  }
  const spec = stringOption(values, 'tpm');
  const against = spec === undefined ? undefined : await tpmPcrs(spec, log);
  try {
    const verified = eventlog.verifyEventLog({ log, pcrs: against?.pcrs ?? eventlog.replayEventLog(log) });
    return { log, verified, tpm: against?.name };
  } catch (err) {
    fail(path, err);
  }
}
