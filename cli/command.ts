// One subcommand: its name, help text, options (node:util parseArgs syntax) and what it does.
import { parseArgs } from 'node:util';
import { usageError } from './exit-codes';
import type { Io } from './io';

type OptionSpec = { type: 'string' | 'boolean'; short?: string };
export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The rest of `--help`: usage line and options, already formatted. */
  help: string;
  options: Record<string, OptionSpec>;
  run(values: Values, io: Io): Promise<void>;
}

/** The option every subcommand takes besides its own. */
export const TPM_OPTION_HELP =
  "  --tpm SPEC       TPM transport, the agent's `tpm` key syntax: device:/dev/tpmrm0 (default),\n" +
  '                   swtpm:host=H,port=P or swtpm:path=SOCKET';

/** Parses `argv` for `cmd` (strict: unknown options and stray arguments are usage errors). */
export function parseCommandArgs(cmd: Command, argv: string[]): Values {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    return values as Values;
  } catch (err) {
    throw usageError((err as Error).message);
  }
}

/** A string option's value, or undefined; `--x ''` is a usage error. */
export function stringOption(values: Values, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw usageError(`--${name} needs a value`);
  return v;
}
