// tpm-quote: dispatches a subcommand and turns every failure into one message and a documented exit status.
import { TpmError, TpmUnavailableError } from '../tpm';
import { parseCommandArgs, type Command } from './command';
import { bootPolicyCommand } from './commands/boot-policy';
import { ekCertCommand } from './commands/ek-cert';
import { ekHashCommand } from './commands/ek-hash';
import { eventlogCommand } from './commands/eventlog';
import { inspectCommand } from './commands/inspect';
import { pcrPolicyCommand } from './commands/pcr-policy';
import { CliError, EXIT, usageError, type ExitCode } from './exit-codes';
import type { Io } from './io';

export const COMMANDS: readonly Command[] = [
  ekHashCommand,
  ekCertCommand,
  pcrPolicyCommand,
  inspectCommand,
  eventlogCommand,
  bootPolicyCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return (
    'Usage: tpm-quote COMMAND [options]   (tpm-quote COMMAND --help for its options)\n\n' +
    'Operator tool for the tpm_quote SPIRE node attestor.\n\nCommands:\n' +
    COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n') +
    '\n\nExit status: 0 ok, 1 internal error, 2 usage error, 3 TPM unreachable, 4 TPM error,\n' +
    '5 verification failed, 6 unusable input (file, or missing on the TPM). See docs/cli.md.\n'
  );
}

function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof TpmUnavailableError) return EXIT.TPM_UNAVAILABLE;
  if (err instanceof TpmError) return EXIT.TPM_ERROR;
  return EXIT.INTERNAL;
}

/** Runs `tpm-quote argv...`; resolves with the exit status (never rejects). */
export async function run(argv: readonly string[], io: Io): Promise<ExitCode> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      if (name === undefined) {
        io.stderr(overview());
        return EXIT.USAGE;
      }
      io.stdout(overview());
      return EXIT.OK;
    }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) throw usageError(`unknown command "${name}" (expected ${COMMANDS.map((c) => c.name).join(', ')})`);
    const values = parseCommandArgs(cmd, rest);
    if (values.help) {
      io.stdout(cmd.help);
      return EXIT.OK;
    }
    await cmd.run(values, io);
    return EXIT.OK;
  } catch (err) {
    const code = exitCodeOf(err);
    io.stderr(`tpm-quote${name ? ` ${name}` : ''}: ${(err as Error)?.message ?? String(err)}\n`);
    if (code === EXIT.USAGE)
      io.stderr(
        `Run "tpm-quote ${name && COMMANDS.some((c) => c.name === name) ? `${name} ` : ''}--help" for usage.\n`,
      );
    return code;
  }
}
