// Tokens of HCL v1 native syntax. Whitespace, newlines included, only separates tokens: HCL v1 is not
// line-oriented (`a = 1 b = 2` on one line is two attributes).

import { Source, quoteForMessage } from './source';

export type HclTokenKind = 'ident' | 'string' | 'heredoc' | 'number' | '{' | '}' | '[' | ']' | '=' | ',' | 'eof';

export interface HclToken {
  kind: HclTokenKind;
  /** Offset of the token's first character in the source text. */
  offset: number;
  /** Identifier text, or the decoded value of a string or heredoc, or the number's source text. */
  text: string;
  /** Numeric value of a number token. */
  number: number;
}

const IDENT_START = /[\p{L}_]/u;
const IDENT_PART = /[\p{L}\p{Nd}_\-.]/u;
const ANCHOR_PART = /[\p{L}\p{Nd}_]/u;
const HEX = /^[0-9a-fA-F]+$/;

/** A human name for a token in "got ..." parts of messages. */
export function describeToken(t: HclToken): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'ident':
      return `identifier ${quoteForMessage(t.text)}`;
    case 'string':
      return `string ${quoteForMessage(t.text)}`;
    case 'heredoc':
      return 'heredoc';
    case 'number':
      return `number ${t.text}`;
    default:
      return `"${t.kind}"`;
  }
}

/** Turns HCL v1 text into tokens on demand (one token of lookahead); throws HclParseError. */
export class HclScanner {
  private pos = 0;
  private peeked: HclToken | undefined;

  constructor(private readonly src: Source) {
    // A leading byte-order mark is not content.
    if (src.text.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  peek(): HclToken {
    if (!this.peeked) this.peeked = this.scan();
    return this.peeked;
  }

  next(): HclToken {
    const t = this.peek();
    this.peeked = undefined;
    return t;
  }

  private get text(): string {
    return this.src.text;
  }

  private scan(): HclToken {
    this.skipSpaceAndComments();
    const start = this.pos;
    if (start >= this.text.length) return this.token('eof', start, '');
    const ch = this.text[start];
    switch (ch) {
      case '{':
      case '}':
      case '[':
      case ']':
      case '=':
      case ',':
        this.pos++;
        return this.token(ch, start, ch);
      case '"':
        return this.scanString();
      case '<':
        if (this.text[start + 1] === '<') return this.scanHeredoc();
        break;
      case '-':
        if (isDigit(this.text[start + 1])) return this.scanNumber();
        break;
      case ':':
        this.src.fail(start, 'unexpected ":" (HCL assigns with "=")');
    }
    if (isDigit(ch)) return this.scanNumber();
    const cp = String.fromCodePoint(this.text.codePointAt(start) ?? 0);
    if (IDENT_START.test(cp)) return this.scanIdent();
    return this.src.fail(start, `unexpected character ${quoteForMessage(cp)}`);
  }

  private token(kind: HclTokenKind, offset: number, text: string, number = 0): HclToken {
    return { kind, offset, text, number };
  }

  private skipSpaceAndComments(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const ch = t[this.pos];
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
        this.pos++;
      } else if (ch === '#' || (ch === '/' && t[this.pos + 1] === '/')) {
        const end = t.indexOf('\n', this.pos);
        this.pos = end < 0 ? t.length : end + 1;
      } else if (ch === '/' && t[this.pos + 1] === '*') {
        const end = t.indexOf('*/', this.pos + 2);
        if (end < 0) this.src.fail(this.pos, 'unterminated /* comment: expected "*/"');
        this.pos = end + 2;
      } else if (ch === '/') {
        this.src.fail(this.pos, 'unexpected "/": comments start with "//", "/*" or "#"');
      } else {
        return;
      }
    }
  }

  private scanIdent(): HclToken {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const cp = this.text.codePointAt(this.pos) ?? 0;
      const s = String.fromCodePoint(cp);
      if (!IDENT_PART.test(s)) break;
      this.pos += s.length;
    }
    return this.token('ident', start, this.text.slice(start, this.pos));
  }

  // Numbers as HCL v1 reads them: decimal, 0x hex, leading-zero octal (0644), floats with fraction
  // and/or exponent, each with an optional leading "-". Integers must fit a JavaScript safe integer.
  private scanNumber(): HclToken {
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t[p] === '-') p++;
    const digitsStart = p;
    let value: number;
    let isFloat = false;
    if (t[p] === '0' && (t[p + 1] === 'x' || t[p + 1] === 'X')) {
      p += 2;
      const hexStart = p;
      while (p < t.length && /[0-9a-fA-F]/.test(t[p])) p++;
      if (p === hexStart) this.src.fail(start, 'invalid hex number: expected hex digits after "0x"');
      value = parseInt(t.slice(hexStart, p), 16);
    } else {
      while (isDigit(t[p])) p++;
      if (t[p] === '.' && isDigit(t[p + 1])) {
        isFloat = true;
        p++;
        while (isDigit(t[p])) p++;
      }
      if (t[p] === 'e' || t[p] === 'E') {
        let q = p + 1;
        if (t[q] === '+' || t[q] === '-') q++;
        if (!isDigit(t[q])) this.src.fail(p, 'invalid number: expected digits in the exponent');
        isFloat = true;
        while (isDigit(t[q])) q++;
        p = q;
      }
      const digits = t.slice(digitsStart, p);
      if (isFloat) {
        value = Number(digits);
      } else if (digits.length > 1 && digits[0] === '0') {
        if (!/^[0-7]+$/.test(digits)) this.src.fail(start, `invalid octal number ${digits} (a leading 0 means octal)`);
        value = parseInt(digits, 8);
      } else {
        value = parseInt(digits, 10);
      }
    }
    // "10s", "1.2.3", "0x1g": a word glued to a number is a value that needed quotes.
    if (p < t.length && (IDENT_PART.test(t[p]) || t[p] === '.')) {
      let q = p;
      while (q < t.length && IDENT_PART.test(t[q])) q++;
      const word = t.slice(start, q);
      this.src.fail(start, `invalid number ${quoteForMessage(word)} (text values need quotes: "${word}")`);
    }
    const text = t.slice(start, p);
    // `-0` reads as 0: the tree has one zero.
    if (t[start] === '-' && value !== 0) value = -value;
    if (!Number.isFinite(value)) this.src.fail(start, `number ${text} is out of range`);
    if (!isFloat && !Number.isSafeInteger(value)) {
      this.src.fail(start, `integer ${text} is out of range (at most 2^53-1 in magnitude)`);
    }
    this.pos = p;
    return this.token('number', start, text, value);
  }

  // A double-quoted string. Outside `${...}` escapes are decoded; inside one (braces counted) the text
  // is kept as written, quotes included, as HCL v1 does for interpolations it leaves to the caller.
  private scanString(): HclToken {
    const t = this.text;
    const start = this.pos;
    let p = start + 1;
    let out = '';
    let braces = 0;
    for (;;) {
      if (p >= t.length || t[p] === '\n') {
        this.src.fail(start, "unterminated string: expected a closing '\"' on the same line");
      }
      const ch = t[p];
      if (braces > 0) {
        if (ch === '\\' && p + 1 < t.length && t[p + 1] !== '\n') {
          out += t.slice(p, p + 2);
          p += 2;
          continue;
        }
        if (ch === '{') braces++;
        else if (ch === '}') braces--;
        out += ch;
        p++;
        continue;
      }
      if (ch === '"') break;
      if (ch === '$' && t[p + 1] === '{') {
        braces = 1;
        out += '${';
        p += 2;
        continue;
      }
      if (ch === '\\') {
        const [decoded, len] = this.escape(p);
        out += decoded;
        p += len;
        continue;
      }
      out += ch;
      p++;
    }
    this.pos = p + 1;
    return this.token('string', start, out);
  }

  /** Decodes the escape at `p` (the backslash); returns the text and the escape's length. */
  private escape(p: number): [string, number] {
    const t = this.text;
    const c = t[p + 1];
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      '"': '"',
    };
    if (c !== undefined && Object.prototype.hasOwnProperty.call(simple, c)) return [simple[c], 2];
    const hex = (len: number): number => {
      const digits = t.slice(p + 2, p + 2 + len);
      if (digits.length !== len || !HEX.test(digits))
        this.src.fail(p, `invalid escape: expected ${len} hex digits after "\\${c}"`);
      return parseInt(digits, 16);
    };
    if (c === 'u' || c === 'U') {
      const len = c === 'u' ? 4 : 8;
      const code = hex(len);
      if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) {
        this.src.fail(p, `invalid escape: U+${code.toString(16).toUpperCase()} is not a Unicode scalar value`);
      }
      return [String.fromCodePoint(code), len + 2];
    }
    if (c === 'x' || (c !== undefined && c >= '0' && c <= '7')) {
      // \xHH and \NNN are single bytes in HCL v1; only ASCII is a whole character on its own.
      let code: number;
      let len: number;
      if (c === 'x') {
        code = hex(2);
        len = 4;
      } else {
        const digits = t.slice(p + 1, p + 4);
        if (!/^[0-7]{3}$/.test(digits)) this.src.fail(p, 'invalid escape: expected 3 octal digits after "\\"');
        code = parseInt(digits, 8);
        len = 4;
      }
      if (code > 0x7f) this.src.fail(p, `invalid escape: byte 0x${code.toString(16)} is not ASCII (use \\u00XX)`);
      return [String.fromCharCode(code), len];
    }
    const shown = c === undefined || c === '\n' || c === '\r' ? 'end of line' : quoteForMessage(c);
    return this.src.fail(
      p,
      `invalid escape: expected one of \\" \\\\ \\n \\t \\r \\a \\b \\f \\v \\uXXXX \\UXXXXXXXX \\xHH \\NNN after "\\", got ${shown}`,
    );
  }

  // <<ANCHOR or <<-ANCHOR, a newline, lines, then a line holding only the anchor (indentation allowed).
  // The value is the lines in between, each ending in "\n". With <<- the closing line's indentation is
  // removed from every line when all non-blank lines start with it (otherwise the text is kept as is).
  private scanHeredoc(): HclToken {
    const t = this.text;
    const start = this.pos;
    let p = start + 2;
    const indented = t[p] === '-';
    if (indented) p++;
    const anchorStart = p;
    while (p < t.length) {
      const s = String.fromCodePoint(t.codePointAt(p) ?? 0);
      if (!ANCHOR_PART.test(s)) break;
      p += s.length;
    }
    const anchor = t.slice(anchorStart, p);
    if (anchor === '') this.src.fail(start, 'invalid heredoc: expected an anchor name after "<<" (like <<EOF)');
    if (t[p] === '\r' && t[p + 1] === '\n') p++;
    if (t[p] !== '\n') {
      this.src.fail(p, `invalid heredoc: expected a newline right after "<<${indented ? '-' : ''}${anchor}"`);
    }
    p++;
    const lines: string[] = [];
    let closingIndent: string | undefined;
    while (p < t.length) {
      const nl = t.indexOf('\n', p);
      const end = nl < 0 ? t.length : nl;
      const line = t.slice(p, end);
      const m = /^([ \t]*)(.*?)\r*$/.exec(line);
      if (m && m[2] === anchor) {
        closingIndent = m[1];
        p = end;
        break;
      }
      lines.push(line);
      p = nl < 0 ? t.length : nl + 1;
    }
    if (closingIndent === undefined) {
      this.src.fail(start, `unterminated heredoc: expected a line holding only ${quoteForMessage(anchor)}`);
    }
    let body = lines;
    if (indented && closingIndent !== '') {
      const prefix = closingIndent;
      const allIndented = lines.every((l) => l.trim() === '' || l.startsWith(prefix));
      if (allIndented)
        body = lines.map((l) => (l.startsWith(prefix) ? l.slice(prefix.length) : l.trim() === '' ? '' : l));
    }
    this.pos = p;
    return this.token('heredoc', start, body.map((l) => `${l}\n`).join(''));
  }
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}
