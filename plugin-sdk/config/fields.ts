// Declarative config fields. Each field knows how to read one raw value (from plugin-sdk/hcl) into its
// typed value, what it expects (for notes and docs), whether it is required, its default (written in
// config syntax, so the docs show what a user would write) and extra checks. The TypeScript type of a
// parsed config is inferred from the declaration: declare once, use everywhere.

import { HclObject, HclValue, isHclObject } from '../hcl';
import { formatDurationMs, parseGoDuration } from './duration';

/** Marker for "this value produced notes"; never escapes the builder. */
export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

export type Presence = 'required' | 'optional' | 'default';

/** How a field kind reads and describes values; one per kind (string, int, list, ...). */
export interface FieldKind<T> {
  /** Short kind name for docs, e.g. `list of integers 0-23`. */
  readonly docType: string;
  /** What a value must be, for notes: `a list of integers 0-23`. */
  readonly expected: string;
  /** The same for many values, used when this kind is a list item: `integers 0-23`. */
  readonly expectedPlural: string;
  /** Reads `raw`; on failure pushes notes naming `path` and returns INVALID. */
  read(raw: HclValue, path: string, notes: string[]): T | Invalid;
  /** Nested fields, for objects (docs rows and unknown-key notes). */
  readonly children?: Fields;
  /** Item field, for lists (docs rows of list-of-object items). */
  readonly item?: AnyField;
}

interface FieldState<T> {
  kind: FieldKind<NonNullable<T>>;
  presence: Presence;
  rawDefault?: HclValue;
  description: string;
  checks: ReadonlyArray<(value: NonNullable<T>) => string | undefined>;
}

/**
 * One config key. `T` is the parsed type (including `undefined` when optional); `R` is the type of a
 * value as written in the config, used for `.default()`. Fields are immutable: every method returns a
 * new field.
 */
export class Field<T, R = unknown> {
  /** Phantom: lets `InferConfig` see the raw type. */
  declare readonly _raw: R;

  constructor(private readonly state: FieldState<T>) {}

  get kind(): FieldKind<NonNullable<T>> {
    return this.state.kind;
  }
  get presence(): Presence {
    return this.state.presence;
  }
  get description(): string {
    return this.state.description;
  }
  /** The default as written in config syntax, or undefined. */
  get rawDefault(): HclValue | undefined {
    return this.state.rawDefault;
  }

  /** Sets the one-line description shown in the docs table. */
  describe(description: string): Field<T, R> {
    return new Field<T, R>({ ...this.state, description });
  }

  /** The key may be left out; the parsed value is then undefined. */
  optional(): Field<T | undefined, R> {
    return new Field<T | undefined, R>({
      ...(this.state as FieldState<T | undefined>),
      presence: 'optional',
      rawDefault: undefined,
    });
  }

  /**
   * The key may be left out; `value` (written as in the config: "30s" for a duration, {} for a block
   * whose keys all have defaults) is then read as if the user had written it. An invalid default throws
   * at declaration time.
   */
  default(value: R): Field<NonNullable<T>, R> {
    const next = new Field<NonNullable<T>, R>({
      ...(this.state as unknown as FieldState<NonNullable<T>>),
      presence: 'default',
      rawDefault: value as unknown as HclValue,
    });
    next.assertDefaultValid();
    return next;
  }

  /**
   * Adds a check on the parsed value: return a message (what was expected and what was found) to
   * reject it, undefined to accept. The note is prefixed with the key path.
   */
  check(fn: (value: NonNullable<T>) => string | undefined): Field<T, R> {
    const next = new Field<T, R>({ ...this.state, checks: [...this.state.checks, fn] });
    next.assertDefaultValid();
    return next;
  }

  /** Reads this key's raw value (undefined when absent), pushing notes on failure. */
  read(raw: HclValue | undefined, path: string, notes: string[]): T | Invalid {
    if (raw === undefined) {
      if (this.state.presence === 'optional') return undefined as T;
      if (this.state.presence === 'required') {
        notes.push(`missing required key "${path}" (expected ${this.state.kind.expected})`);
        return INVALID;
      }
      raw = structuredClone(this.state.rawDefault) as HclValue;
    }
    const value = this.state.kind.read(raw, path, notes);
    if (value === INVALID) return INVALID;
    let ok = true;
    for (const check of this.state.checks) {
      const problem = check(value);
      if (problem !== undefined) {
        notes.push(`key "${path}": ${problem}`);
        ok = false;
      }
    }
    return ok ? (value as T) : INVALID;
  }

  private assertDefaultValid(): void {
    if (this.state.presence !== 'default') return;
    const notes: string[] = [];
    this.read(undefined, '<default>', notes);
    if (notes.length > 0) throw new Error(`invalid config field default: ${notes.join('; ')}`);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyField = Field<any, any>;
export type Fields = Record<string, AnyField>;

/** The parsed type of a field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InferField<F> = F extends Field<infer T, any> ? T : never;
/** The raw (as written) type of a field. */
export type RawOf<F> = F extends { readonly _raw: infer R } ? R : never;
/** The parsed type of a set of fields: a readonly object with one property per key. */
export type InferConfig<F extends Fields> = { readonly [K in keyof F]: InferField<F[K]> };
/** What may be written for an object of fields (all keys optional, for defaults). */
export type RawObject<F extends Fields> = { [K in keyof F]?: RawOf<F[K]> };

function make<T, R>(kind: FieldKind<NonNullable<T>>): Field<T, R> {
  return new Field<T, R>({ kind, presence: 'required', description: '', checks: [] });
}

/** What a custom field's `read` is given besides the raw value. */
export interface CustomReadContext {
  /** The key path of the value, e.g. `pcr_selection` or `peers[1]` for a list item. */
  readonly path: string;
  /** Records a problem as the note `key "<at>": <problem>` (`at` defaults to `path`); the value is then refused. */
  note(problem: string, at?: string): void;
}

/** A field kind the built-ins do not cover: how it is described and how a raw value is read. */
export interface CustomFieldOptions<T> {
  /** Short kind name for docs, e.g. `PCR selection (string or list of strings)`. */
  docType: string;
  /** What a value must be, for notes: `a "host:port" string`. */
  expected: string;
  /** The same for many values (when used as a list item); default `expected`. */
  expectedPlural?: string;
  /**
   * Reads a raw value (as parsed from HCL or JSON): returns the parsed value, or undefined after noting why
   * not. A value returned after a note is refused too; undefined without a note is refused with
   * `expected <expected>, got <what raw is>`.
   */
  read(raw: HclValue, context: CustomReadContext): T | undefined;
}

/**
 * A field of a kind the built-ins do not cover (e.g. a PCR selection string): the plugin's hook into the
 * builder. Reads, defaults, checks, list items and docs rows work as for the built-ins. `R` is the type a
 * default is written as. Starts required, like every field.
 */
export function custom<T, R = unknown>(options: CustomFieldOptions<NonNullable<T>>): Field<T, R> {
  return make<T, R>({
    docType: options.docType,
    expected: options.expected,
    expectedPlural: options.expectedPlural ?? options.expected,
    read(raw, path, notes) {
      const before = notes.length;
      const value = options.read(raw, {
        path,
        note: (problem, at = path) => void notes.push(`key "${at}": ${problem}`),
      });
      if (notes.length > before) return INVALID;
      return value === undefined ? mismatch(path, options.expected, raw, notes) : value;
    },
  });
}

/** "string", "integer 3", "bool", "list", "block", "2 blocks": what a raw value is, for notes. */
export function describeRaw(raw: HclValue): string {
  if (typeof raw === 'string') return 'string';
  if (typeof raw === 'number') return Number.isInteger(raw) ? `integer ${raw}` : `number ${raw}`;
  if (typeof raw === 'boolean') return `bool ${raw}`;
  if (Array.isArray(raw)) return raw.length > 0 && raw.every(isHclObject) ? `${raw.length} blocks` : 'list';
  return 'block';
}

function mismatch(path: string, expected: string, raw: HclValue, notes: string[]): Invalid {
  notes.push(`key "${path}": expected ${expected}, got ${describeRaw(raw)}`);
  return INVALID;
}

export interface StringOptions {
  /** Accept "" (default false: an empty string is almost always a mistake). */
  allowEmpty?: boolean;
  /** Accept only matches; describe the pattern in `patternText` for notes. */
  pattern?: RegExp;
  patternText?: string;
}

/** A string value. */
export function string(options: StringOptions = {}): Field<string, string> {
  const what = options.patternText ?? (options.allowEmpty ? 'string' : 'non-empty string');
  const expected = `a ${what}`;
  return make<string, string>({
    docType: 'string',
    expected,
    expectedPlural: `${what}s`,
    read(raw, path, notes) {
      if (typeof raw !== 'string') return mismatch(path, expected, raw, notes);
      if (!options.allowEmpty && raw === '') {
        notes.push(`key "${path}": expected ${expected}, got ""`);
        return INVALID;
      }
      if (options.pattern && !options.pattern.test(raw)) {
        notes.push(`key "${path}": expected ${expected}, got a string that does not match`);
        return INVALID;
      }
      return raw;
    },
  });
}

export interface IntOptions {
  min?: number;
  max?: number;
}

function rangeText(o: IntOptions): string {
  if (o.min !== undefined && o.max !== undefined) return ` ${o.min}-${o.max}`;
  if (o.min !== undefined) return ` >= ${o.min}`;
  if (o.max !== undefined) return ` <= ${o.max}`;
  return '';
}

/** A whole number, optionally bounded (inclusive). Hex (0x1f) and octal (0644) literals are integers. */
export function int(options: IntOptions = {}): Field<number, number> {
  const range = rangeText(options);
  const expected = `an integer${range}`;
  return make<number, number>({
    docType: `integer${range}`,
    expected,
    expectedPlural: `integers${range}`,
    read(raw, path, notes) {
      if (typeof raw !== 'number' || !Number.isInteger(raw)) return mismatch(path, expected, raw, notes);
      if ((options.min !== undefined && raw < options.min) || (options.max !== undefined && raw > options.max)) {
        notes.push(`key "${path}": expected ${expected}, got ${raw}`);
        return INVALID;
      }
      return raw;
    },
  });
}

/** true or false. Strings like "true" are refused: HCL has real booleans. */
export function bool(): Field<boolean, boolean> {
  const expected = 'a bool (true or false)';
  return make<boolean, boolean>({
    docType: 'bool',
    expected,
    expectedPlural: 'bools (true or false)',
    read(raw, path, notes) {
      return typeof raw === 'boolean' ? raw : mismatch(path, expected, raw, notes);
    },
  });
}

export interface DurationOptions {
  /** Smallest accepted duration, as a Go duration string. */
  min?: string;
  /** Largest accepted duration, as a Go duration string. */
  max?: string;
}

/** A Go duration string ("30s", "1m30s", "250ms"), parsed to milliseconds. */
export function duration(options: DurationOptions = {}): Field<number, string> {
  const bound = (s: string | undefined): number | undefined => {
    if (s === undefined) return undefined;
    const v = parseGoDuration(s);
    if (v === undefined) throw new Error(`invalid duration bound ${JSON.stringify(s)}`);
    return v;
  };
  const min = bound(options.min);
  const max = bound(options.max);
  const range =
    min !== undefined && max !== undefined
      ? ` from ${options.min} to ${options.max}`
      : min !== undefined
        ? ` of at least ${options.min}`
        : max !== undefined
          ? ` of at most ${options.max}`
          : '';
  const expected = `a duration${range} like "30s" or "1m30s"`;
  return make<number, string>({
    docType: `duration${range}`,
    expected,
    expectedPlural: `durations${range}`,
    read(raw, path, notes) {
      if (typeof raw !== 'string') return mismatch(path, expected, raw, notes);
      const ms = parseGoDuration(raw);
      if (ms === undefined) {
        notes.push(`key "${path}": expected ${expected}, got ${JSON.stringify(raw.slice(0, 40))}`);
        return INVALID;
      }
      if ((min !== undefined && ms < min) || (max !== undefined && ms > max)) {
        notes.push(`key "${path}": expected ${expected}, got ${formatDurationMs(ms)}`);
        return INVALID;
      }
      return ms;
    },
  });
}

/** One of a fixed set of strings; the parsed type is their union. */
export function enumOf<const V extends readonly [string, ...string[]]>(values: V): Field<V[number], V[number]> {
  const list = values.map((v) => JSON.stringify(v)).join(', ');
  const expected = `one of ${list}`;
  return make<V[number], V[number]>({
    docType: `one of ${values.map((v) => `\`${v}\``).join(', ')}`,
    expected,
    expectedPlural: `values among ${list}`,
    read(raw, path, notes) {
      if (typeof raw !== 'string') return mismatch(path, expected, raw, notes);
      if (!(values as readonly string[]).includes(raw)) {
        notes.push(`key "${path}": expected ${expected}, got ${JSON.stringify(raw.slice(0, 40))}`);
        return INVALID;
      }
      return raw as V[number];
    },
  });
}

export interface ListOptions {
  minItems?: number;
  maxItems?: number;
  /** Refuse repeated items (compared after parsing, by JSON form). */
  unique?: boolean;
}

/** A list whose items are all read by `item` (whose presence settings are ignored). */
export function list<F extends AnyField>(
  item: F,
  options: ListOptions = {},
): Field<ReadonlyArray<NonNullable<InferField<F>>>, RawOf<F>[]> {
  const expected = `a list of ${item.kind.expectedPlural}`;
  return make<ReadonlyArray<NonNullable<InferField<F>>>, RawOf<F>[]>({
    docType: `list of ${item.kind.expectedPlural}`,
    expected,
    expectedPlural: `lists of ${item.kind.expectedPlural}`,
    item,
    read(raw, path, notes) {
      if (!Array.isArray(raw)) return mismatch(path, expected, raw, notes);
      const before = notes.length;
      if (options.minItems !== undefined && raw.length < options.minItems) {
        notes.push(`key "${path}": expected at least ${options.minItems} item(s), got ${raw.length}`);
      }
      if (options.maxItems !== undefined && raw.length > options.maxItems) {
        notes.push(`key "${path}": expected at most ${options.maxItems} item(s), got ${raw.length}`);
      }
      const out: Array<NonNullable<InferField<F>>> = [];
      const seen = new Map<string, number>();
      raw.forEach((r, i) => {
        const v = item.read(r, `${path}[${i}]`, notes);
        if (v === INVALID || v === undefined) return;
        if (options.unique) {
          const keyOf = JSON.stringify(v);
          const first = seen.get(keyOf);
          if (first !== undefined)
            notes.push(`key "${path}[${i}]": expected no repeats, got the same value as ${path}[${first}]`);
          else seen.set(keyOf, i);
        }
        out.push(v as NonNullable<InferField<F>>);
      });
      return notes.length > before ? INVALID : Object.freeze(out);
    },
  });
}

/** Edit distance with adjacent transpositions (optimal string alignment), for "did you mean" hints. */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64 || b.length > 64) return 99;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Unknown keys reported one by one per object; the rest are counted in one note. */
export const MAX_UNKNOWN_KEY_NOTES = 20;

/**
 * Reads an object against `fields`: every unknown key is a note (naming the known keys), every field
 * reads its own key. Returns a frozen object, or INVALID after pushing notes.
 */
export function readObject<F extends Fields>(
  fields: F,
  raw: HclObject,
  prefix: string,
  notes: string[],
): InferConfig<F> | Invalid {
  const before = notes.length;
  const known = Object.keys(fields);
  const unknown = Object.keys(raw).filter((key) => !Object.prototype.hasOwnProperty.call(fields, key));
  // Hints cost an edit distance per known key: only the first few unknown keys get one each.
  for (const key of unknown.slice(0, MAX_UNKNOWN_KEY_NOTES)) {
    const near = known.filter((k) => distance(k, key) <= Math.max(1, Math.floor(k.length / 4)));
    const hint = near.length > 0 ? `; did you mean ${near.map((k) => `"${k}"`).join(' or ')}?` : '';
    const knownText = known.length > 0 ? `known keys: ${known.join(', ')}` : 'no keys are accepted here';
    notes.push(`unknown key "${prefix}${key.slice(0, 64)}" (${knownText}${hint})`);
  }
  if (unknown.length > MAX_UNKNOWN_KEY_NOTES) {
    notes.push(
      `${unknown.length - MAX_UNKNOWN_KEY_NOTES} more unknown keys${prefix ? ` in "${prefix.slice(0, -1)}"` : ''}`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const key of known) {
    const value = Object.prototype.hasOwnProperty.call(raw, key) ? raw[key] : undefined;
    const parsed = fields[key].read(value, `${prefix}${key}`, notes);
    if (parsed !== INVALID) Object.defineProperty(out, key, { value: parsed, enumerable: true });
  }
  return notes.length > before ? INVALID : (Object.freeze(out) as InferConfig<F>);
}

/**
 * A nested block `name { ... }` (or `name = { ... }`) with its own keys. `.default({})` makes the
 * block optional with its keys' defaults applied. A block given twice is refused.
 */
export function object<F extends Fields>(fields: F): Field<InferConfig<F>, RawObject<F>> {
  const expected = `a block { ${Object.keys(fields).join(', ')} }`;
  return make<InferConfig<F>, RawObject<F>>({
    docType: 'block',
    expected,
    expectedPlural: 'blocks',
    children: fields,
    read(raw, path, notes) {
      if (Array.isArray(raw) && raw.length > 1 && raw.every(isHclObject)) {
        notes.push(`key "${path}": expected a single block, got ${raw.length} blocks`);
        return INVALID;
      }
      if (!isHclObject(raw)) return mismatch(path, expected, raw, notes);
      return readObject(fields, raw, `${path}.`, notes);
    },
  });
}
