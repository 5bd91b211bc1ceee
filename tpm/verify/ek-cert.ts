// EK certificates (TCG EK Credential Profile for TPM Family 2.0, 3.2): parsing the TPM attributes out of the
// critical SubjectAltName, and validating the chain to a CA bundle.
import { KeyObject, X509Certificate } from 'node:crypto';
import { TpmCryptoError } from '../crypto/errors';
import {
  children,
  decodeOid,
  decodeString,
  DerError,
  DerElement,
  expectTag,
  readElement,
  TAG_BOOLEAN,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_SET,
} from './der';
import { TpmVerifyError } from './errors';

const OID_SAN = '2.5.29.17';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_TPM_MANUFACTURER = '2.23.133.2.1';
const OID_TPM_MODEL = '2.23.133.2.2';
const OID_TPM_VERSION = '2.23.133.2.3';
const OID_EK_CERTIFICATE_EKU = '2.23.133.8.1';

/** EK certificates read from NV are a few KiB; anything far larger is not one. */
export const MAX_EK_CERT_BYTES = 16 * 1024;
/** Longest certificate path accepted (leaf + intermediates + anchor). */
export const MAX_CHAIN_DEPTH = 8;

/** A parsed EK certificate. */
export interface EkCertificate {
  /** The certificate's DER, NV padding removed. */
  der: Uint8Array;
  certificate: X509Certificate;
  /** The EK public key the certificate binds. */
  publicKey: KeyObject;
  subject: string;
  issuer: string;
  /** TPM attributes from the SubjectAltName directoryName, as written (e.g. `id:00001014`). */
  tpmManufacturer?: string;
  tpmModel?: string;
  tpmVersion?: string;
  /** The manufacturer's 4-byte vendor ID when `tpmManufacturer` has the `id:XXXXXXXX` form. */
  tpmManufacturerId?: number;
  /** True when the extended key usage names the EK certificate purpose (2.23.133.8.1). */
  ekCertificateEku: boolean;
}

function malformed(message: string, cause?: unknown): TpmVerifyError {
  return new TpmVerifyError('EK_CERT_MALFORMED', `EK certificate: ${message}`, { cause });
}

// The extnValue OCTET STRINGs of a certificate's extensions with id `oid` (RFC 5280, 4.1 and 4.2).
function extensionValues(cert: DerElement, oid: string): DerElement[] {
  const tbs = expectTag(children(cert)[0], TAG_SEQUENCE, 'tbsCertificate');
  const exts = children(tbs).find((e) => e.tag === 0xa3);
  if (!exts) return [];
  const extList = expectTag(children(exts)[0], TAG_SEQUENCE, 'extensions');
  const out: DerElement[] = [];
  for (const ext of children(extList)) {
    const parts = children(expectTag(ext, TAG_SEQUENCE, 'extension'));
    if (decodeOid(expectTag(parts[0], TAG_OID, 'extension id').content) !== oid) continue;
    const value = parts[1]?.tag === TAG_BOOLEAN ? parts[2] : parts[1];
    out.push(expectTag(value, TAG_OCTET_STRING, `extension ${oid} value`));
  }
  return out;
}

// Walks Certificate -> tbsCertificate -> extensions -> SubjectAltName -> directoryName -> TPM attributes.
function tpmAttributes(cert: DerElement): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const octets of extensionValues(cert, OID_SAN)) {
    const names = expectTag(readElement(octets.content), TAG_SEQUENCE, 'GeneralNames');
    for (const gn of children(names)) {
      if (gn.tag !== 0xa4) continue; // directoryName [4]
      const name = expectTag(children(gn)[0], TAG_SEQUENCE, 'directoryName');
      for (const rdn of children(name)) {
        for (const atv of children(expectTag(rdn, TAG_SET, 'RelativeDistinguishedName'))) {
          const [type, val] = children(expectTag(atv, TAG_SEQUENCE, 'AttributeTypeAndValue'));
          const t = decodeOid(expectTag(type, TAG_OID, 'attribute type').content);
          if (t === OID_TPM_MANUFACTURER || t === OID_TPM_MODEL || t === OID_TPM_VERSION) {
            if (!val) throw new DerError(`attribute ${t}: missing value`);
            if (attrs.has(t)) throw new DerError(`attribute ${t} appears twice`);
            attrs.set(t, decodeString(val, `attribute ${t}`));
          }
        }
      }
    }
  }
  return attrs;
}

/**
 * Parses an EK certificate as read from NV (DER, possibly followed by 0x00/0xFF padding up to the NV
 * index size). Checks only that it is a well-formed X.509 certificate; reads the TPM manufacturer/model/
 * version from the SubjectAltName directoryName with a bounded DER reader (TPM EK certs mark that SAN
 * critical with name forms generic X.509 code may refuse). Does NOT check signature, dates or issuer: call
 * `verifyEkCertificate`. Throws TpmVerifyError EK_CERT_MALFORMED.
 */
export function parseEkCertificate(bytes: Uint8Array): EkCertificate {
  if (bytes.length > MAX_EK_CERT_BYTES)
    throw malformed(`${bytes.length} bytes exceeds the maximum ${MAX_EK_CERT_BYTES}`);
  let attrs: Map<string, string>;
  let der: Uint8Array;
  try {
    const top = expectTag(readElement(bytes), TAG_SEQUENCE, 'Certificate');
    der = bytes.subarray(0, top.total);
    for (let i = top.total; i < bytes.length; i++)
      if (bytes[i] !== 0x00 && bytes[i] !== 0xff)
        throw new DerError(`non-padding byte after the certificate at byte ${i}`);
    attrs = tpmAttributes(top);
  } catch (e) {
    if (e instanceof DerError) throw malformed(e.message, e);
    throw e;
  }
  let certificate: X509Certificate;
  let publicKey: KeyObject;
  let subject: string;
  let issuer: string;
  try {
    certificate = new X509Certificate(der);
    // Node decodes these lazily: touch them here so a bad key or name is a parse error, not a later throw.
    publicKey = certificate.publicKey;
    subject = certificate.subject;
    issuer = certificate.issuer;
  } catch (e) {
    throw malformed(`X.509 parser refused it: ${(e as Error).message}`, e);
  }
  const manufacturer = attrs.get(OID_TPM_MANUFACTURER);
  const m = manufacturer ? /^id:([0-9a-fA-F]{8})$/.exec(manufacturer) : null;
  let eku: string[];
  try {
    eku = certificate.keyUsage ?? [];
  } catch {
    eku = [];
  }
  return {
    der: Uint8Array.from(der),
    certificate,
    publicKey,
    subject,
    issuer,
    tpmManufacturer: manufacturer,
    tpmModel: attrs.get(OID_TPM_MODEL),
    tpmVersion: attrs.get(OID_TPM_VERSION),
    tpmManufacturerId: m ? parseInt(m[1], 16) : undefined,
    ekCertificateEku: eku.includes(OID_EK_CERTIFICATE_EKU),
  };
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every certificate in PEM text (other PEM blocks are ignored). Throws TpmCryptoError for a bad block. */
export function parsePemCertificates(text: string, source = 'PEM text'): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of text.match(PEM_BLOCK) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch (e) {
      throw new TpmCryptoError(
        'INVALID_ARGUMENT',
        `${source}: certificate ${out.length + 1} does not parse: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  return out;
}

export interface VerifyEkCertificateOptions {
  /** EK certificate bytes (NV padding allowed) or an already parsed one. */
  certificate: Uint8Array | EkCertificate;
  /** Trust anchors (e.g. the server plugin's ek_ca_path bundle). */
  trusted: readonly X509Certificate[];
  /** Untrusted intermediates that may complete the path (e.g. sent by the agent). */
  intermediates?: readonly X509Certificate[];
  /** Time of the validity checks (default: now). */
  now?: Date;
}

export interface VerifiedEkCertificate {
  ek: EkCertificate;
  /** The EK public key (the certificate's subject key). */
  publicKey: KeyObject;
  /** Issuer DN of the EK certificate. */
  issuer: string;
  /** Path from the EK certificate (first) to the trust anchor (last). */
  chain: X509Certificate[];
}

function issues(issuer: X509Certificate, subject: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

// pathLenConstraint of a CA certificate's basicConstraints (RFC 5280, 4.2.1.9), undefined when absent.
// Node's X509Certificate exposes only the cA flag, so the extension is read here; a CA whose extension does
// not decode fails closed.
function pathLenConstraint(c: X509Certificate): number | undefined {
  try {
    const values = extensionValues(readElement(new Uint8Array(c.raw)), OID_BASIC_CONSTRAINTS);
    if (values.length !== 1) throw new DerError(`${values.length} basicConstraints extensions`);
    const fields = children(expectTag(readElement(values[0].content), TAG_SEQUENCE, 'BasicConstraints'));
    const len = fields.find((f) => f.tag === TAG_INTEGER);
    if (!len) return undefined;
    if (len.content.length === 0 || len.content.length > 4 || len.content[0] & 0x80)
      throw new DerError('pathLenConstraint is not a small non-negative INTEGER');
    return len.content.reduce((n, b) => n * 256 + b, 0);
  } catch (e) {
    throw new TpmVerifyError(
      'EK_CERT_MALFORMED',
      `CA certificate "${c.subject}": basicConstraints: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

function checkDates(c: X509Certificate, now: Date, what: string): void {
  if (now < new Date(c.validFrom) || now > new Date(c.validTo))
    throw new TpmVerifyError(
      'EK_CERT_EXPIRED',
      `${what} "${c.subject}" is valid from ${c.validFrom} to ${c.validTo}, not at ${now.toISOString()}`,
    );
}

/**
 * Validates an EK certificate against a CA bundle. Checks, in order: it parses (EK_CERT_MALFORMED); the EK
 * certificate is within its validity dates (EK_CERT_EXPIRED); then walking up, each issuer is found among the
 * trust anchors first, then the intermediates, by issuer name/key identifier and signature
 * (EK_CERT_UNTRUSTED when none), is a CA by basic constraints (EK_CERT_NOT_CA), has no more CAs below it
 * than its pathLenConstraint allows (EK_CERT_PATH_LENGTH; trust anchors too, as Go's x509.Verify does) and is
 * within its dates (EK_CERT_EXPIRED). The walk stops at the first trust anchor; at most MAX_CHAIN_DEPTH
 * certificates.
 * Does NOT check revocation, name constraints, policies, or the EKU. The caller still owes: proving the
 * TPM holds this EK (credential activation), and comparing the returned key with the EK public area used.
 */
export function verifyEkCertificate(options: VerifyEkCertificateOptions): VerifiedEkCertificate {
  const ek = options.certificate instanceof Uint8Array ? parseEkCertificate(options.certificate) : options.certificate;
  const now = options.now ?? new Date();
  const intermediates = options.intermediates ?? [];
  checkDates(ek.certificate, now, 'EK certificate');
  const chain: X509Certificate[] = [ek.certificate];
  let current = ek.certificate;
  for (;;) {
    if (chain.length >= MAX_CHAIN_DEPTH)
      throw new TpmVerifyError(
        'EK_CERT_UNTRUSTED',
        `EK certificate "${ek.subject}": no trust anchor within ${MAX_CHAIN_DEPTH} certificates`,
      );
    const anchor = options.trusted.find((c) => issues(c, current));
    const next = anchor ?? intermediates.find((c) => !chain.includes(c) && issues(c, current));
    if (!next)
      throw new TpmVerifyError(
        'EK_CERT_UNTRUSTED',
        `EK certificate "${ek.subject}": issuer "${current.issuer}" of "${current.subject}" is not in the CA bundle or does not verify`,
      );
    if (!next.ca)
      throw new TpmVerifyError(
        'EK_CERT_NOT_CA',
        `certificate "${next.subject}" signed "${current.subject}" but is not a CA`,
      );
    // CAs between the EK certificate and `next`: chain[1..] (RFC 5280, 6.1.4 (l)/(m)).
    const below = chain.length - 1;
    const maxPath = pathLenConstraint(next);
    if (maxPath !== undefined && below > maxPath)
      throw new TpmVerifyError(
        'EK_CERT_PATH_LENGTH',
        `CA certificate "${next.subject}" allows ${maxPath} intermediate CA${maxPath === 1 ? '' : 's'} below it (pathLenConstraint), the path has ${below}`,
      );
    checkDates(next, now, 'CA certificate');
    chain.push(next);
    if (anchor) break;
    current = next;
  }
  return { ek, publicKey: ek.publicKey, issuer: ek.issuer, chain };
}
