// JSON (RFC 8259) to the same value tree, for plugin_data_file documents that start with "{".
// Our own reader rather than JSON.parse so that errors carry line:column, nesting is bounded, duplicate
// keys are refused and null (which the value tree has no place for) is reported by key.

import { Source, quoteForMessage } from './source';
import { ReaderLimits } from './parse-hcl-native';
import { HclObject, HclValue, setOwn } from './value';

/** Parses a JSON document whose top level is an object; throws HclParseError on any error. */
export function parseJsonDocument(text: string, limits: ReaderLimits): HclObject {
  const reader = new JsonReader(new Source(text), limits);
  return reader.document();
}

class JsonReader {
  private pos = 0;

  constructor(
    private readonly src: Source,
    private readonly limits: ReaderLimits,
  ) {
    if (src.text.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  private get t(): string {
    return this.src.text;
  }

  document(): HclObject {
    this.space();
    if (this.t[this.pos] !== '{')
      this.src.fail(this.pos, `expected "{" to start the JSON document, got ${this.describeHere()}`);
    const value = this.object(1);
    this.space();
    if (this.pos < this.t.length)
      this.src.fail(this.pos, `expected end of input after the JSON document, got ${this.describeHere()}`);
    return value;
  }

  private describeHere(): string {
    if (this.pos >= this.t.length) return 'end of input';
    return quoteForMessage(String.fromCodePoint(this.t.codePointAt(this.pos) ?? 0));
  }

  private space(): void {
    while (this.pos < this.t.length) {
      const c = this.t[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else return;
    }
  }

  // `context` is built only on failure: computing a position costs a scan of its line.
  private value(depth: number, context: () => string): HclValue {
    this.space();
    const c = this.t[this.pos];
    if (c === '{') return this.object(depth + 1);
    if (c === '[') return this.array(depth + 1);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
    ] as const) {
      if (this.t.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    if (this.t.startsWith('null', this.pos)) {
      this.src.fail(this.pos, `expected a value ${context()}, got null (leave the key out instead)`);
    }
    return this.src.fail(this.pos, `expected a JSON value ${context()}, got ${this.describeHere()}`);
  }

  private enter(depth: number): void {
    if (depth > this.limits.maxDepth) this.src.fail(this.pos, `nesting is deeper than ${this.limits.maxDepth} levels`);
  }

  private object(depth: number): HclObject {
    this.enter(depth);
    const open = this.pos;
    this.pos++;
    const out: HclObject = {};
    const seen = new Map<string, number>();
    this.space();
    if (this.t[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.space();
      const keyAt = this.pos;
      if (this.t[this.pos] !== '"') this.src.fail(this.pos, `expected a quoted key, got ${this.describeHere()}`);
      const key = this.string();
      const name = quoteForMessage(key);
      const prior = seen.get(key);
      if (prior !== undefined) this.src.fail(keyAt, `duplicate key ${name} (already set at ${this.src.where(prior)})`);
      seen.set(key, keyAt);
      this.space();
      if (this.t[this.pos] !== ':')
        this.src.fail(this.pos, `expected ":" after key ${name}, got ${this.describeHere()}`);
      this.pos++;
      setOwn(
        out,
        key,
        this.value(depth, () => `for key ${name}`),
      );
      this.space();
      const c = this.t[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return out;
      }
      this.src.fail(
        this.pos,
        `expected "," or "}" in the object opened at ${this.src.where(open)}, got ${this.describeHere()}`,
      );
    }
  }

  private array(depth: number): HclValue[] {
    this.enter(depth);
    const open = this.pos;
    this.pos++;
    const out: HclValue[] = [];
    this.space();
    if (this.t[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth, () => `in the array opened at ${this.src.where(open)}`));
      this.space();
      const c = this.t[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return out;
      }
      this.src.fail(
        this.pos,
        `expected "," or "]" in the array opened at ${this.src.where(open)}, got ${this.describeHere()}`,
      );
    }
  }

  private string(): string {
    const start = this.pos;
    let p = this.pos + 1;
    let out = '';
    for (;;) {
      if (p >= this.t.length) this.src.fail(start, "unterminated string: expected a closing '\"'");
      const c = this.t.charCodeAt(p);
      if (c === 0x22) break;
      if (c < 0x20) this.src.fail(p, 'expected an escape (like \\n) for a control character in a string');
      if (c !== 0x5c) {
        out += this.t[p];
        p++;
        continue;
      }
      const e = this.t[p + 1];
      const simple: Record<string, string> = {
        '"': '"',
        '\\': '\\',
        '/': '/',
        b: '\b',
        f: '\f',
        n: '\n',
        r: '\r',
        t: '\t',
      };
      if (e !== undefined && Object.prototype.hasOwnProperty.call(simple, e)) {
        out += simple[e];
        p += 2;
        continue;
      }
      if (e !== 'u')
        this.src.fail(
          p,
          `invalid escape: expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX, got ${e === undefined ? 'end of input' : quoteForMessage('\\' + e)}`,
        );
      const hex = this.t.slice(p + 2, p + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.src.fail(p, 'invalid escape: expected 4 hex digits after "\\u"');
      let code = parseInt(hex, 16);
      p += 6;
      if (code >= 0xd800 && code <= 0xdbff) {
        const low = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(this.t.slice(p, p + 6));
        if (!low)
          this.src.fail(p - 6, 'invalid escape: a high surrogate \\uD8xx-\\uDBxx must be followed by a low one');
        code = 0x10000 + ((code - 0xd800) << 10) + (parseInt(low[1], 16) - 0xdc00);
        p += 6;
      } else if (code >= 0xdc00 && code <= 0xdfff) {
        this.src.fail(p - 6, 'invalid escape: lone low surrogate');
      }
      out += String.fromCodePoint(code);
    }
    this.pos = p + 1;
    return out;
  }

  private number(): number {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.t.slice(this.pos, this.pos + 400));
    if (!m) this.src.fail(this.pos, `expected a JSON number, got ${this.describeHere()}`);
    const text = m[0];
    const value = Number(text);
    const isInt = m[2] === undefined && m[3] === undefined;
    if (!Number.isFinite(value) || (isInt && !Number.isSafeInteger(value))) {
      this.src.fail(this.pos, `number ${text} is out of range`);
    }
    this.pos += text.length;
    return value === 0 ? 0 : value;
  }
}
