// A small bounded DER (X.690) reader: just enough to walk a certificate to its extensions. Definite lengths
// only, at most 4 length octets, every length checked against the bytes of its enclosing element.

/** Thrown for any DER that is not well formed; the EK certificate parser turns it into EK_CERT_MALFORMED. */
export class DerError extends Error {
  override readonly name = 'DerError';
}

export interface DerElement {
  /** Full identifier octet (class, constructed bit, tag number < 31). */
  tag: number;
  /** Content octets (a view into the input, not a copy). */
  content: Uint8Array;
  /** Bytes of the whole element, header included. */
  total: number;
}

export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_UTF8_STRING = 0x0c;
export const TAG_PRINTABLE_STRING = 0x13;
export const TAG_IA5_STRING = 0x16;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;

/** Reads one element at `offset` of `buf`; the element must fit in `buf`. */
export function readElement(buf: Uint8Array, offset = 0): DerElement {
  if (offset + 2 > buf.length) throw new DerError(`DER element at byte ${offset}: truncated header`);
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError(`DER element at byte ${offset}: multi-byte tags are not supported`);
  let len = buf[offset + 1];
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError(`DER element at byte ${offset}: indefinite length is not DER`);
    if (n > 4) throw new DerError(`DER element at byte ${offset}: ${n} length octets is too many`);
    if (offset + 2 + n > buf.length) throw new DerError(`DER element at byte ${offset}: truncated length`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i];
    header += n;
  }
  if (len > buf.length - offset - header)
    throw new DerError(
      `DER element at byte ${offset}: length ${len} exceeds the ${buf.length - offset - header} bytes left`,
    );
  return { tag, content: buf.subarray(offset + header, offset + header + len), total: header + len };
}

/** The children of a constructed element, in order (bounded by its content). */
export function children(el: DerElement, maxChildren = 4096): DerElement[] {
  if ((el.tag & 0x20) === 0) throw new DerError(`DER tag 0x${el.tag.toString(16)} is not constructed`);
  const out: DerElement[] = [];
  let off = 0;
  while (off < el.content.length) {
    if (out.length >= maxChildren) throw new DerError(`more than ${maxChildren} DER elements in one structure`);
    const c = readElement(el.content, off);
    out.push(c);
    off += c.total;
  }
  return out;
}

/** Checks `el` has `tag` and returns it. */
export function expectTag(el: DerElement | undefined, tag: number, what: string): DerElement {
  if (!el) throw new DerError(`${what}: missing`);
  if (el.tag !== tag)
    throw new DerError(`${what}: expected DER tag 0x${tag.toString(16)}, got 0x${el.tag.toString(16)}`);
  return el;
}

/** Dotted-decimal form of an OBJECT IDENTIFIER's content. */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0 || content.length > 64) throw new DerError(`OID of ${content.length} bytes`);
  const arcs: number[] = [];
  let v = 0;
  let digits = 0;
  for (const b of content) {
    if (digits === 0 && b === 0x80) throw new DerError('OID arc with a leading 0x80 byte');
    v = v * 128 + (b & 0x7f);
    if (++digits > 8) throw new DerError('OID arc too large');
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
      digits = 0;
    }
  }
  if (digits !== 0) throw new DerError('OID ends inside an arc');
  const first = arcs[0] < 40 ? 0 : arcs[0] < 80 ? 1 : 2;
  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join('.');
}

/** Text of a DirectoryString-like value (UTF8String, PrintableString, IA5String). */
export function decodeString(el: DerElement, what: string): string {
  if (el.tag !== TAG_UTF8_STRING && el.tag !== TAG_PRINTABLE_STRING && el.tag !== TAG_IA5_STRING)
    throw new DerError(`${what}: expected a string, got DER tag 0x${el.tag.toString(16)}`);
  return Buffer.from(el.content).toString(el.tag === TAG_UTF8_STRING ? 'utf8' : 'latin1');
}
