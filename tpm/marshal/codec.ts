// One codec per TPM structure, used in both directions (TPM 2.0 Part 2 big-endian canonical form).
// Every size read from the wire is checked against the bytes left and the structure's spec maximum
// before anything is allocated.

/** Thrown for any malformed or oversized TPM structure; `path` names the field that failed. */
export class TpmMarshalError extends Error {
  override readonly name = 'TpmMarshalError';
  constructor(
    message: string,
    readonly path: string,
    readonly offset: number,
  ) {
    super(path ? `${path}: ${message} (at byte ${offset})` : `${message} (at byte ${offset})`);
  }
}

/** Bounds-checked big-endian reader over untrusted bytes. */
export class Reader {
  private pos = 0;
  private readonly view: DataView;
  /** Field path for error messages, maintained by `struct`. */
  readonly path: string[] = [];

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  fail(message: string): never {
    throw new TpmMarshalError(message, this.path.join('.'), this.pos);
  }

  private need(n: number): void {
    if (n > this.remaining) this.fail(`needs ${n} bytes, only ${this.remaining} left`);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Copies `n` bytes out; callers bound `n` before calling. */
  bytesOf(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A copy of the bytes from `start` up to the current offset (what a codec just consumed). */
  consumedSince(start: number): Uint8Array {
    if (start < 0 || start > this.pos) this.fail(`bad start offset ${start}`);
    return this.bytes.slice(start, this.pos);
  }

  /** A reader over the next `n` bytes only, so a sized structure cannot read past its own size. */
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.bytes.subarray(this.pos, this.pos + n));
    r.path.push(...this.path);
    this.pos += n;
    return r;
  }
}

/** Growable big-endian writer. */
export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.pos++, v);
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }

  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** A wire structure declared once: `encode` and `decode` are derived from the same declaration. */
export interface Codec<T> {
  encode(w: Writer, value: T): void;
  decode(r: Reader): T;
}

export type CodecType<C> = C extends Codec<infer T> ? T : never;

function uint(bits: 8 | 16 | 32): Codec<number> {
  const max = 2 ** bits - 1;
  return {
    encode(w, v) {
      if (!Number.isInteger(v) || v < 0 || v > max) throw new TpmMarshalError(`${v} is not a uint${bits}`, '', 0);
      if (bits === 8) w.u8(v);
      else if (bits === 16) w.u16(v);
      else w.u32(v);
    },
    decode: (r) => (bits === 8 ? r.u8() : bits === 16 ? r.u16() : r.u32()),
  };
}

/** UINT8/16/32/64 (Part 2, 5.2): big-endian; encoding refuses a value out of range. */
export const u8: Codec<number> = uint(8);
export const u16: Codec<number> = uint(16);
export const u32: Codec<number> = uint(32);
export const u64: Codec<bigint> = { encode: (w, v) => w.u64(v), decode: (r) => r.u64() };
/** TPMI_YES_NO (Part 2, 9.2): one byte, 0 or 1; any other value fails to decode. */
export const bool: Codec<boolean> = {
  encode: (w, v) => w.u8(v ? 1 : 0),
  decode: (r) => {
    const v = r.u8();
    if (v > 1) r.fail(`TPMI_YES_NO must be 0 or 1, got ${v}`);
    return v === 1;
  },
};

/** Raw bytes of a fixed length (e.g. the 3-byte pcrSelect of a PCR-selection). */
export function fixedBytes(length: number): Codec<Uint8Array> {
  return {
    encode(w, v) {
      if (v.length !== length) throw new TpmMarshalError(`expected ${length} bytes, got ${v.length}`, '', 0);
      w.bytes(v);
    },
    decode: (r) => r.bytesOf(length),
  };
}

// A size prefix of `prefixBits`, then that many bytes, at most `maxSize` (checked before the copy).
function sizePrefixedBytes(prefixBits: 8 | 16, maxSize: number): Codec<Uint8Array> {
  return {
    encode(w, v) {
      if (v.length > maxSize) throw new TpmMarshalError(`${v.length} bytes exceeds the maximum ${maxSize}`, '', 0);
      if (prefixBits === 8) w.u8(v.length);
      else w.u16(v.length);
      w.bytes(v);
    },
    decode(r) {
      const size = prefixBits === 8 ? r.u8() : r.u16();
      if (size > maxSize) r.fail(`size ${size} exceeds the maximum ${maxSize}`);
      return r.bytesOf(size);
    },
  };
}

/** TPM2B_*: a u16 size then that many bytes, at most `maxSize` (the structure's spec bound). */
export function tpm2b(maxSize: number): Codec<Uint8Array> {
  return sizePrefixedBytes(16, maxSize);
}

/** A u8-sized byte array (TPMS_PCR_SELECT's sizeofSelect + pcrSelect). */
export function sizedU8Bytes(maxSize: number): Codec<Uint8Array> {
  return sizePrefixedBytes(8, maxSize);
}

/**
 * A structure wrapped in a TPM2B (TPM2B_PUBLIC, TPM2B_ATTEST, ...): u16 size, then exactly that many bytes
 * holding `inner`, which must use them all. A size of 0 is `inner` decoded from no bytes (there is no empty form).
 */
export function sized<T>(inner: Codec<T>, maxSize: number): Codec<T> {
  const body = tpm2b(maxSize);
  return {
    encode: (w, v) => body.encode(w, marshal(inner, v)),
    decode(r) {
      const size = r.u16();
      if (size > maxSize) r.fail(`size ${size} exceeds the maximum ${maxSize}`);
      const sub = r.sub(size);
      const v = inner.decode(sub);
      if (sub.remaining !== 0) sub.fail(`${sub.remaining} trailing bytes inside the sized structure`);
      return v;
    },
  };
}

/** TPML_*: a u32 count (at most `maxCount`) then that many items. `countCodec` swaps the count's codec (e.g. a little-endian one for TCG event logs). */
export function list<T>(item: Codec<T>, maxCount: number, countCodec: Codec<number> = u32): Codec<T[]> {
  return {
    encode(w, v) {
      if (v.length > maxCount) throw new TpmMarshalError(`${v.length} items exceeds the maximum ${maxCount}`, '', 0);
      countCodec.encode(w, v.length);
      for (const x of v) item.encode(w, x);
    },
    decode(r) {
      const count = countCodec.decode(r);
      if (count > maxCount) r.fail(`count ${count} exceeds the maximum ${maxCount}`);
      const out: T[] = [];
      for (let i = 0; i < count; i++) {
        r.path.push(`[${i}]`);
        out.push(item.decode(r));
        r.path.pop();
      }
      return out;
    },
  };
}

/**
 * A TPMU_* union member of a struct: the codec is chosen by the value of an earlier field (`selector`).
 * Unknown selector values fail to decode and to encode.
 */
export interface Selected<T> {
  readonly selector: string;
  readonly cases: Readonly<Record<number, Codec<T>>>;
}

/** A union member whose codec is `cases[value of the struct's earlier field named selector]`. */
export function select<T>(selector: string, cases: Readonly<Record<number, Codec<T>>>): Selected<T> {
  return { selector, cases };
}

type Field = Codec<unknown> | Selected<unknown>;
type FieldType<F> = F extends Codec<infer T> ? T : F extends Selected<infer T> ? T : never;
export type StructOf<F extends Record<string, Field>> = { [K in keyof F]: FieldType<F[K]> };

function isSelected(f: Field): f is Selected<unknown> {
  return (f as Selected<unknown>).cases !== undefined;
}

function caseFor(f: Selected<unknown>, obj: Record<string, unknown>, name: string, r?: Reader): Codec<unknown> {
  const tag = obj[f.selector];
  const codec = typeof tag === 'number' ? f.cases[tag] : undefined;
  if (!codec) {
    const msg = `${f.selector}=0x${Number(tag).toString(16)} selects no known ${name}`;
    if (r) r.fail(msg);
    throw new TpmMarshalError(msg, name, 0);
  }
  return codec;
}

/** A struct codec that also names its fields in wire order (e.g. for "parameter N (name)" in TPM errors). */
export interface StructCodec<T> extends Codec<T> {
  readonly fieldNames: readonly string[];
}

/** A TPMS_ or TPMT_ structure: fields in declaration order (object key order). */
export function struct<F extends Record<string, Field>>(fields: F): StructCodec<StructOf<F>> {
  const entries = Object.entries(fields);
  return {
    fieldNames: entries.map(([name]) => name),
    encode(w, v) {
      const obj = v as Record<string, unknown>;
      for (const [name, f] of entries) {
        const codec = isSelected(f) ? caseFor(f, obj, name) : f;
        try {
          codec.encode(w, obj[name]);
        } catch (e) {
          if (e instanceof TpmMarshalError) throw new TpmMarshalError(e.message, name, 0);
          throw e;
        }
      }
    },
    decode(r) {
      const out: Record<string, unknown> = {};
      for (const [name, f] of entries) {
        r.path.push(name);
        const codec = isSelected(f) ? caseFor(f, out, name, r) : f;
        out[name] = codec.decode(r);
        r.path.pop();
      }
      return out as StructOf<F>;
    },
  };
}

/**
 * A struct with TPMU_ members, typed as `T`: the discriminated union the caller writes out, one variant per
 * selector value (e.g. TPMS_ATTEST by `type`). Encoding and decoding are `struct(fields)`'s; the compiler
 * checks that every variant of `T` fits the declared fields, which a bare cast would not. It does not check
 * that a variant's tag selects that variant's member: the tables in `fields` decide that at run time.
 * Write it as `const X: Codec<X> = taggedStruct({...})` so `T` is taken from the declared type.
 */
export function taggedStruct<T extends StructOf<F>, F extends Record<string, Field> = Record<string, Field>>(
  fields: F,
): Codec<T> {
  return struct(fields) as Codec<unknown> as Codec<T>;
}

/** Maps a codec's value through a pair of pure functions (e.g. an enum check, a derived view). */
export function mapped<A, B>(inner: Codec<A>, to: (a: A, r: Reader) => B, from: (b: B) => A): Codec<B> {
  return { encode: (w, v) => inner.encode(w, from(v)), decode: (r) => to(inner.decode(r), r) };
}

/** Encodes `value` to canonical bytes. */
export function marshal<T>(codec: Codec<T>, value: T): Uint8Array {
  const w = new Writer();
  codec.encode(w, value);
  return w.finish();
}

/**
 * Decodes untrusted bytes. By default the whole input must be consumed (trailing bytes are an error);
 * pass `{ allowTrailing: true }` to read a prefix.
 */
export function unmarshal<T>(codec: Codec<T>, bytes: Uint8Array, options: { allowTrailing?: boolean } = {}): T {
  const r = new Reader(bytes);
  const v = codec.decode(r);
  if (!options.allowTrailing && r.remaining !== 0) r.fail(`${r.remaining} trailing bytes`);
  return v;
}

/** The empty member of a TPMU union (e.g. the TPM_ALG_NULL case): nothing on the wire, `undefined` in memory. */
export const none: Codec<undefined> = {
  encode(_w, v) {
    if (v !== undefined) throw new TpmMarshalError('the empty union member takes no value', '', 0);
  },
  decode: () => undefined,
};

/** A TPM enum field: decoding fails (TpmMarshalError) unless the value is one of `allowed`. */
export function oneOf(inner: Codec<number>, allowed: readonly number[], what: string): Codec<number> {
  const set = new Set(allowed);
  return mapped(
    inner,
    (v, r) => {
      if (!set.has(v)) r.fail(`0x${v.toString(16)} is not a valid ${what}`);
      return v;
    },
    (v) => {
      if (!set.has(v)) throw new TpmMarshalError(`0x${v.toString(16)} is not a valid ${what}`, '', 0);
      return v;
    },
  );
}

/** A decoded structure with the exact bytes it came from (signed or hashed bytes are kept, never re-encoded). */
export interface WithBytes<T> {
  value: T;
  bytes: Uint8Array;
}

/**
 * Decodes `inner` and keeps the exact bytes it consumed (e.g. a public area whose hash is its Name).
 * Encoding writes `bytes` verbatim: the caller keeps `value` and `bytes` consistent.
 */
export function withBytes<T>(inner: Codec<T>): Codec<WithBytes<T>> {
  return {
    encode: (w, v) => w.bytes(v.bytes),
    decode(r) {
      const start = r.offset;
      const value = inner.decode(r);
      return { value, bytes: r.consumedSince(start) };
    },
  };
}
