// The one error type the readers throw for bad input. Anything else escaping them is our bug.

/** A syntax or limit error in configuration text, with the 1-based line and column it was found at. */
export class HclParseError extends Error {
  override readonly name = 'HclParseError';
  constructor(
    /** What was wrong, without the position (e.g. `expected "=" or "{" after key "a", got number 5`). */
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${line}:${column}: ${reason}`);
  }
}
