// Offsets to line:column for error messages. Columns count Unicode code points, 1-based.

import { HclParseError } from './errors';

/** The text being read, with offset -> line:column for messages. */
export class Source {
  private readonly lineStarts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    const start = this.lineStarts[lo];
    let column = 1;
    for (let i = start; i < offset && i < this.text.length; i++) {
      const c = this.text.charCodeAt(i);
      // A surrogate pair is one code point: count only its high half.
      if (c < 0xdc00 || c > 0xdfff) column++;
    }
    return { line: lo + 1, column };
  }

  where(offset: number): string {
    const p = this.position(offset);
    return `${p.line}:${p.column}`;
  }

  fail(offset: number, reason: string): never {
    const p = this.position(offset);
    throw new HclParseError(reason, p.line, p.column);
  }
}

/** Quotes text for an error message, shortened so a message never carries a whole value. */
export function quoteForMessage(text: string, max = 40): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(cut);
}
