// The CLI's exit statuses (docs/cli.md) and the one error type that carries one.

/** Exit statuses, stable for scripts: each names what went wrong, not where. */
export const EXIT = {
  OK: 0,
  /** A bug or an unexpected failure (the message says what). */
  INTERNAL: 1,
  /** Bad command line: unknown subcommand or option, missing or malformed value. */
  USAGE: 2,
  /** The TPM could not be reached (no device, socket refused, timeout). */
  TPM_UNAVAILABLE: 3,
  /** The TPM answered with an error code. */
  TPM_ERROR: 4,
  /** A check failed: the EK certificate does not chain, the event log does not replay to the TPM's PCRs. */
  VERIFICATION_FAILED: 5,
  /** An input is unusable: a file unreadable or malformed, or the TPM lacks what was asked (no EK certificate). */
  BAD_INPUT: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure with the exit status it ends the command with. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const usageError = (message: string): CliError => new CliError(EXIT.USAGE, message);
export const badInput = (message: string, cause?: unknown): CliError =>
  new CliError(EXIT.BAD_INPUT, message, { cause });
