// HCL v1 native syntax to a value tree.
//
// Grammar (HCL v1): body = { item [","] } ; item = key { key } ( "=" value | "{" body "}" ) ;
// key = identifier | string ; value = string | heredoc | number | true | false | list | "{" body "}" ;
// list = "[" [ value { "," value } [","] ] "]".
//
// Decoding, as HCL v1 decodes into generic maps: `k = v` sets k; an object, whether written `k { ... }`
// or `k = { ... }`, is a block, and a key given as a block more than once becomes a list of those
// objects in source order; labels nest, so `k "a" "b" { ... }` is `k = { a = { b = { ... } } }`, and
// blocks of one name with different labels merge under it. Deliberately stricter than HCL v1: a key set
// twice as a plain value, or both as a value and as a block, is an error rather than last-one-wins.

import { HclParseError } from './errors';
import { HclScanner, HclToken, describeToken } from './hcl-scanner';
import { Source, quoteForMessage } from './source';
import { HclObject, HclValue, setOwn } from './value';

export interface ReaderLimits {
  /** Deepest nesting of objects and lists. */
  maxDepth: number;
}

type Entry =
  | { kind: 'value'; offset: number }
  | { kind: 'block'; offset: number; count: number }
  | { kind: 'labels'; offset: number; inner: Map<string, Entry> };

/** Parses HCL v1 native syntax; throws HclParseError on any syntax or limit error. */
export function parseHclNative(text: string, limits: ReaderLimits): HclObject {
  const src = new Source(text);
  const parser = new Parser(src, new HclScanner(src), limits);
  return parser.parseDocument();
}

class Parser {
  constructor(
    private readonly src: Source,
    private readonly scanner: HclScanner,
    private readonly limits: ReaderLimits,
  ) {}

  parseDocument(): HclObject {
    const body = this.parseBody(0, 'eof');
    this.scanner.next();
    return body;
  }

  private enter(depth: number, at: HclToken): void {
    if (depth > this.limits.maxDepth) {
      this.src.fail(at.offset, `nesting is deeper than ${this.limits.maxDepth} levels`);
    }
  }

  /** Reads items up to (not including) the closing token. */
  private parseBody(depth: number, close: '}' | 'eof'): HclObject {
    const out: HclObject = {};
    const entries = new Map<string, Entry>();
    for (;;) {
      const first = this.scanner.peek();
      if (first.kind === close) return out;
      if (first.kind !== 'ident' && first.kind !== 'string') {
        const closer = close === '}' ? ' or "}"' : '';
        this.src.fail(
          first.offset,
          `expected a key (identifier or quoted string)${closer}, got ${describeToken(first)}`,
        );
      }
      const keys: HclToken[] = [];
      while (this.scanner.peek().kind === 'ident' || this.scanner.peek().kind === 'string') {
        keys.push(this.scanner.next());
      }
      for (const k of keys) {
        if (k.text === '') this.src.fail(k.offset, 'expected a non-empty key, got ""');
      }
      const op = this.scanner.peek();
      const keyName = quoteForMessage(keys[0].text);
      if (op.kind === '=') {
        if (keys.length > 1) {
          this.src.fail(op.offset, `expected "{" after block labels of ${keyName} (labelled blocks take no "=")`);
        }
        this.scanner.next();
        const valueToken = this.scanner.peek();
        const value = this.parseValue(depth, () => `after "=" for key ${keyName}`);
        this.add(out, entries, keys, value, valueToken.kind === '{');
      } else if (op.kind === '{') {
        this.scanner.next();
        this.enter(depth + 1, op);
        const body = this.parseBody(depth + 1, '}');
        this.expect('}', () => `to close the block ${keyName} opened at ${this.src.where(op.offset)}`);
        this.add(out, entries, keys, body, true);
      } else {
        const what = keys.length > 1 ? `"{" after ${keyName} and its labels` : `"=" or "{" after key ${keyName}`;
        this.src.fail(op.offset, `expected ${what}, got ${describeToken(op)}`);
      }
      if (this.scanner.peek().kind === ',') this.scanner.next();
    }
  }

  // Message parts are built only on failure: computing a position costs a scan of its line.
  private expect(kind: '}' | ']', why: () => string): HclToken {
    const t = this.scanner.next();
    if (t.kind !== kind) this.src.fail(t.offset, `expected "${kind}" ${why()}, got ${describeToken(t)}`);
    return t;
  }

  private parseValue(depth: number, context: () => string): HclValue {
    const t = this.scanner.next();
    switch (t.kind) {
      case 'string':
      case 'heredoc':
        return t.text;
      case 'number':
        return t.number;
      case 'ident':
        if (t.text === 'true') return true;
        if (t.text === 'false') return false;
        return this.src.fail(
          t.offset,
          `expected a value ${context()}, got ${describeToken(t)} (text values need quotes: "${t.text}")`,
        );
      case '[':
        this.enter(depth + 1, t);
        return this.parseList(depth + 1, t);
      case '{': {
        this.enter(depth + 1, t);
        const body = this.parseBody(depth + 1, '}');
        this.expect('}', () => `to close the object opened at ${this.src.where(t.offset)}`);
        return body;
      }
      default:
        return this.src.fail(
          t.offset,
          `expected a value (string, number, bool, list, object or heredoc) ${context()}, got ${describeToken(t)}`,
        );
    }
  }

  private parseList(depth: number, open: HclToken): HclValue[] {
    const items: HclValue[] = [];
    for (;;) {
      if (this.scanner.peek().kind === ']') {
        this.scanner.next();
        return items;
      }
      items.push(this.parseValue(depth, () => `in the list opened at ${this.src.where(open.offset)}`));
      const sep = this.scanner.next();
      if (sep.kind === ']') return items;
      if (sep.kind !== ',') {
        this.src.fail(
          sep.offset,
          `expected "," or "]" in the list opened at ${this.src.where(open.offset)}, got ${describeToken(sep)}`,
        );
      }
    }
  }

  /** Stores `value` under the key path `keys` (labels nest), applying the block and duplicate rules. */
  private add(out: HclObject, entries: Map<string, Entry>, keys: HclToken[], value: HclValue, isBlock: boolean): void {
    let target = out;
    let targetEntries = entries;
    for (let i = 0; i < keys.length - 1; i++) {
      const k = keys[i];
      const existing = targetEntries.get(k.text);
      if (existing === undefined) {
        const inner = new Map<string, Entry>();
        const container: HclObject = {};
        setOwn(target, k.text, container);
        targetEntries.set(k.text, { kind: 'labels', offset: k.offset, inner });
        target = container;
        targetEntries = inner;
      } else if (existing.kind === 'labels') {
        target = target[k.text] as HclObject;
        targetEntries = existing.inner;
      } else {
        this.conflict(k, existing);
      }
    }
    const last = keys[keys.length - 1];
    const existing = targetEntries.get(last.text);
    if (existing === undefined) {
      setOwn(target, last.text, value);
      targetEntries.set(
        last.text,
        isBlock ? { kind: 'block', offset: last.offset, count: 1 } : { kind: 'value', offset: last.offset },
      );
      return;
    }
    if (existing.kind === 'block' && isBlock) {
      const prior = target[last.text];
      if (existing.count === 1) setOwn(target, last.text, [prior, value]);
      else (prior as HclValue[]).push(value);
      existing.count++;
      return;
    }
    this.conflict(last, existing);
  }

  private conflict(k: HclToken, existing: Entry): never {
    const name = quoteForMessage(k.text);
    const at = this.src.where(existing.offset);
    const reason =
      existing.kind === 'value'
        ? `duplicate key ${name} (already set at ${at})`
        : existing.kind === 'labels'
          ? `key ${name} is already a labelled block (at ${at}); expected the same form again`
          : `key ${name} is already a block (at ${at}); expected another block, not a value or labels`;
    throw new HclParseError(reason, this.src.position(k.offset).line, this.src.position(k.offset).column);
  }
}
