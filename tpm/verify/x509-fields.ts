// The X.509 fields Node's X509Certificate does not expose (RFC 5280, 4.1): each extension with its critical
// flag, and the signature AlgorithmIdentifier. Read with the bounded DER reader; throws DerError.
import {
  children,
  decodeOid,
  DerElement,
  DerError,
  expectTag,
  readElement,
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
} from './der';

/** One certificate extension (RFC 5280, 4.1: Extension). */
export interface X509Extension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING's content (the extension's own DER). */
  value: Uint8Array;
}

/** An AlgorithmIdentifier: the OID and the raw DER of its parameters, when present. */
export interface AlgorithmIdentifier {
  oid: string;
  parameters?: DerElement;
}

function topLevel(der: Uint8Array): DerElement[] {
  return children(expectTag(readElement(der), TAG_SEQUENCE, 'Certificate'));
}

/** Every extension of a certificate, in order (empty when it has none). */
export function certificateExtensions(der: Uint8Array): X509Extension[] {
  const tbs = expectTag(topLevel(der)[0], TAG_SEQUENCE, 'tbsCertificate');
  const exts = children(tbs).find((e) => e.tag === 0xa3); // extensions [3] EXPLICIT
  if (!exts) return [];
  return children(expectTag(children(exts)[0], TAG_SEQUENCE, 'extensions')).map((ext) => {
    const parts = children(expectTag(ext, TAG_SEQUENCE, 'extension'));
    const oid = decodeOid(expectTag(parts[0], TAG_OID, 'extension id').content);
    const hasFlag = parts[1]?.tag === TAG_BOOLEAN;
    // DER encodes the DEFAULT FALSE as absent; any non-zero octet is TRUE.
    const critical = hasFlag && parts[1].content.length === 1 && parts[1].content[0] !== 0;
    const value = expectTag(hasFlag ? parts[2] : parts[1], TAG_OCTET_STRING, `extension ${oid} value`);
    return { oid, critical, value: value.content };
  });
}

function algorithmIdentifier(el: DerElement | undefined, what: string): AlgorithmIdentifier {
  const parts = children(expectTag(el, TAG_SEQUENCE, what));
  return { oid: decodeOid(expectTag(parts[0], TAG_OID, `${what} algorithm`).content), parameters: parts[1] };
}

/**
 * The certificate's signatureAlgorithm. Throws DerError when it differs from the tbsCertificate's
 * `signature` field, which RFC 5280 4.1.1.2 requires to be the same.
 */
export function signatureAlgorithm(der: Uint8Array): AlgorithmIdentifier {
  const [tbs, outer] = topLevel(der);
  const fields = children(expectTag(tbs, TAG_SEQUENCE, 'tbsCertificate'));
  // The optional [0] version comes first; the serial number, then the inner signature algorithm follow.
  const inner = fields[fields[0]?.tag === 0xa0 ? 2 : 1];
  const a = algorithmIdentifier(outer, 'signatureAlgorithm');
  const b = algorithmIdentifier(inner, 'tbsCertificate signature');
  const bytes = (p?: DerElement) => (p ? `${p.tag}:${Buffer.from(p.content).toString('hex')}` : '');
  if (a.oid !== b.oid || bytes(a.parameters) !== bytes(b.parameters))
    throw new DerError(`signatureAlgorithm ${a.oid} differs from the tbsCertificate's ${b.oid}`);
  return a;
}

/** The named bits set in a DER BIT STRING (bit 0 is the first byte's most significant bit). */
export function bitStringBits(el: DerElement): Set<number> {
  expectTag(el, TAG_BIT_STRING, 'BIT STRING');
  if (el.content.length === 0 || el.content[0] > 7) throw new DerError('BIT STRING without a valid unused-bits octet');
  const bits = new Set<number>();
  for (let i = 1; i < el.content.length; i++)
    for (let b = 0; b < 8; b++) if (el.content[i] & (0x80 >> b)) bits.add((i - 1) * 8 + b);
  return bits;
}

/** The OIDs of a SEQUENCE OF OBJECT IDENTIFIER (e.g. ExtKeyUsageSyntax). */
export function oidSequence(der: Uint8Array, what: string): string[] {
  return children(expectTag(readElement(der), TAG_SEQUENCE, what)).map((e) =>
    decodeOid(expectTag(e, TAG_OID, `${what} member`).content),
  );
}

/** A decoded basicConstraints value (RFC 5280, 4.2.1.9). */
export interface BasicConstraints {
  ca: boolean;
  /** pathLenConstraint, undefined when absent. */
  pathLen?: number;
}

/** Decodes a basicConstraints extension value. */
export function decodeBasicConstraints(value: Uint8Array): BasicConstraints {
  const fields = children(expectTag(readElement(value), TAG_SEQUENCE, 'BasicConstraints'));
  const flag = fields.find((f) => f.tag === TAG_BOOLEAN);
  const ca = flag !== undefined && flag.content.length === 1 && flag.content[0] !== 0;
  const len = fields.find((f) => f.tag === TAG_INTEGER);
  if (!len) return { ca };
  if (len.content.length === 0 || len.content.length > 4 || len.content[0] & 0x80)
    throw new DerError('pathLenConstraint is not a small non-negative INTEGER');
  return { ca, pathLen: len.content.reduce((n, b) => n * 256 + b, 0) };
}
