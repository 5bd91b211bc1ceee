// EK certificates (TCG EK Credential Profile for TPM Family 2.0, 3.2): parsing the TPM attributes out of the
// critical SubjectAltName, and validating the chain to a CA bundle.
import { KeyObject, X509Certificate } from 'node:crypto';
import { TpmCryptoError } from '../crypto/errors';
import {
  children,
  decodeOid,
  decodeString,
  DerError,
  expectTag,
  readElement,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_SET,
} from './der';
import {
  checkCriticalExtensions,
  checkKeyStrength,
  checkSignatureAlgorithm,
  certificateLabel,
  oneLineDn,
  verifyEkCertificateProfile,
  OID_BASIC_CONSTRAINTS,
  OID_EK_CERTIFICATE_EKU,
  OID_EXT_KEY_USAGE,
  OID_SAN,
  type EkProfileOptions,
} from './ek-profile';
import { TpmVerifyError } from './errors';
import { certificateExtensions, decodeBasicConstraints, oidSequence } from './x509-fields';

const OID_TPM_MANUFACTURER = '2.23.133.2.1';
const OID_TPM_MODEL = '2.23.133.2.2';
const OID_TPM_VERSION = '2.23.133.2.3';

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

// The extnValue contents of a certificate's extensions with id `oid` (RFC 5280, 4.1 and 4.2).
function extensionValues(der: Uint8Array, oid: string): Uint8Array[] {
  return certificateExtensions(der)
    .filter((e) => e.oid === oid)
    .map((e) => e.value);
}

// Walks Certificate -> tbsCertificate -> extensions -> SubjectAltName -> directoryName -> TPM attributes.
function tpmAttributes(der: Uint8Array): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const value of extensionValues(der, OID_SAN)) {
    const names = expectTag(readElement(value), TAG_SEQUENCE, 'GeneralNames');
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
  let ekCertificateEku: boolean;
  try {
    const top = expectTag(readElement(bytes), TAG_SEQUENCE, 'Certificate');
    der = bytes.subarray(0, top.total);
    for (let i = top.total; i < bytes.length; i++)
      if (bytes[i] !== 0x00 && bytes[i] !== 0xff)
        throw new DerError(`non-padding byte after the certificate at byte ${i}`);
    attrs = tpmAttributes(der);
    const eku = extensionValues(der, OID_EXT_KEY_USAGE);
    ekCertificateEku = eku.length === 1 && oidSequence(eku[0], 'extKeyUsage').includes(OID_EK_CERTIFICATE_EKU);
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
    ekCertificateEku,
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

export interface VerifyEkCertificateOptions extends EkProfileOptions {
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

/** Most signatures checked while searching for a path (bounds the work an agent's intermediates can cause). */
export const MAX_PATH_SIGNATURE_CHECKS = 64;

interface PathSearch {
  leaf: X509Certificate;
  options: VerifyEkCertificateOptions;
  now: Date;
  /** Signature checks left. */
  budget: number;
}

// True when `issuer` names and signed `subject`. Node's checkIssued compares the names, the key
// identifiers and the issuer's keyUsage (keyCertSign); only then is the signature checked.
function issues(issuer: X509Certificate, subject: X509Certificate, search: PathSearch): boolean {
  try {
    if (!subject.checkIssued(issuer)) return false;
    if (search.budget-- <= 0)
      throw new TpmVerifyError(
        'EK_CERT_UNTRUSTED',
        `EK certificate ${certificateLabel(search.leaf)}: no path found within ${MAX_PATH_SIGNATURE_CHECKS} signature checks`,
      );
    return subject.verify(issuer.publicKey);
  } catch (e) {
    if (e instanceof TpmVerifyError) throw e;
    return false;
  }
}

// pathLenConstraint of a CA certificate's basicConstraints (RFC 5280, 4.2.1.9), undefined when absent.
// Node's X509Certificate exposes only the cA flag, so the extension is read here; a CA whose extension does
// not decode fails closed.
function pathLenConstraint(c: X509Certificate): number | undefined {
  try {
    const values = extensionValues(new Uint8Array(c.raw), OID_BASIC_CONSTRAINTS);
    if (values.length !== 1) throw new DerError(`${values.length} basicConstraints extensions`);
    return decodeBasicConstraints(values[0]).pathLen;
  } catch (e) {
    throw new TpmVerifyError(
      'EK_CERT_MALFORMED',
      `CA certificate ${certificateLabel(c)}: basicConstraints: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

function checkDates(c: X509Certificate, now: Date, what: string): void {
  if (now < new Date(c.validFrom) || now > new Date(c.validTo))
    throw new TpmVerifyError(
      'EK_CERT_EXPIRED',
      `${what} ${certificateLabel(c)} is valid from ${c.validFrom} to ${c.validTo}, not at ${now.toISOString()}`,
    );
}

// The CA checks of `issuer` as the next certificate above `chain` (leaf first).
function checkIssuer(
  issuer: X509Certificate,
  chain: readonly X509Certificate[],
  anchor: boolean,
  search: PathSearch,
): void {
  const below = chain[chain.length - 1];
  if (!issuer.ca)
    throw new TpmVerifyError(
      'EK_CERT_NOT_CA',
      `certificate ${certificateLabel(issuer)} signed ${certificateLabel(below)} but is not a CA`,
    );
  // CAs between the EK certificate and `issuer`: chain[1..] (RFC 5280, 6.1.4 (l)/(m)).
  const cas = chain.length - 1;
  const maxPath = pathLenConstraint(issuer);
  if (maxPath !== undefined && cas > maxPath)
    throw new TpmVerifyError(
      'EK_CERT_PATH_LENGTH',
      `CA certificate ${certificateLabel(issuer)} allows ${maxPath} intermediate CA${maxPath === 1 ? '' : 's'} below it (pathLenConstraint), the path has ${cas}`,
    );
  checkKeyStrength(issuer.publicKey, issuer, 'CA certificate');
  checkDates(issuer, search.now, 'CA certificate');
  if (!anchor) {
    // An intermediate is only as good as its own fields: the anchors are the operator's choice, these are not.
    checkCriticalExtensions(issuer, 'CA certificate');
    checkSignatureAlgorithm(issuer, 'CA certificate', search.options);
  }
}

// Depth-first over every certificate that issued the top of `chain`: trust anchors first, then the
// untrusted intermediates. A candidate that fails a check does not end the search; the next one is tried.
function extendPath(chain: X509Certificate[], search: PathSearch): X509Certificate[] {
  const current = chain[chain.length - 1];
  if (chain.length >= MAX_CHAIN_DEPTH)
    throw new TpmVerifyError(
      'EK_CERT_UNTRUSTED',
      `EK certificate ${certificateLabel(chain[0])}: no trust anchor within ${MAX_CHAIN_DEPTH} certificates`,
    );
  const candidates = [
    ...search.options.trusted.map((c) => ({ c, anchor: true })),
    ...(search.options.intermediates ?? []).filter((c) => !chain.includes(c)).map((c) => ({ c, anchor: false })),
  ];
  const failures: TpmVerifyError[] = [];
  for (const { c, anchor } of candidates) {
    if (!issues(c, current, search)) continue;
    try {
      checkIssuer(c, chain, anchor, search);
      // The walk ends at the first trust anchor that passes: what lies above it is the operator's trust.
      return anchor ? [...chain, c] : extendPath([...chain, c], search);
    } catch (e) {
      if (!(e instanceof TpmVerifyError)) throw e;
      if (search.budget <= 0) throw e;
      failures.push(e);
    }
  }
  if (failures.length === 0)
    throw new TpmVerifyError(
      'EK_CERT_UNTRUSTED',
      `EK certificate ${certificateLabel(chain[0])}: issuer "${oneLineDn(current.issuer)}" of ${certificateLabel(current)} is not in the CA bundle or does not verify`,
    );
  // The most telling failure: a candidate that signed but broke a rule, before "no issuer further up".
  throw failures.find((f) => f.code !== 'EK_CERT_UNTRUSTED') ?? failures[0];
}

/**
 * Validates an EK certificate against a CA bundle. Checks, in order: it parses (EK_CERT_MALFORMED); it is an
 * EK certificate by its own fields (verifyEkCertificateProfile: EK_CERT_CRITICAL_EXTENSION, EK_CERT_IS_CA,
 * EK_CERT_KEY_USAGE, EK_CERT_EKU, EK_CERT_KEY_WEAK, EK_CERT_SIGNATURE_ALGORITHM); it is within its validity
 * dates (EK_CERT_EXPIRED); then a path is searched: every certificate that names and signed the current one
 * is tried, trust anchors first, then the intermediates (several anchors with one subject, a renewed CA
 * next to an expired one), until one path passes. Each issuer on a path is a CA by basic constraints
 * (EK_CERT_NOT_CA), has no more CAs below it than its pathLenConstraint allows (EK_CERT_PATH_LENGTH; trust
 * anchors too, as Go's x509.Verify does), has a strong key (EK_CERT_KEY_WEAK) and is within its dates
 * (EK_CERT_EXPIRED); an intermediate also has no unknown critical extension and an allow-listed signature
 * algorithm. No issuer at all: EK_CERT_UNTRUSTED; when every candidate failed, the first failure that is not
 * EK_CERT_UNTRUSTED is thrown. A path ends at the first trust anchor; at most MAX_CHAIN_DEPTH certificates
 * and MAX_PATH_SIGNATURE_CHECKS signature checks.
 * Does NOT check revocation, name constraints or policies. The caller still owes: proving the TPM holds this
 * EK (credential activation), and comparing the returned key with the EK public area used.
 */
export function verifyEkCertificate(options: VerifyEkCertificateOptions): VerifiedEkCertificate {
  const ek = options.certificate instanceof Uint8Array ? parseEkCertificate(options.certificate) : options.certificate;
  const now = options.now ?? new Date();
  verifyEkCertificateProfile(ek.certificate, options);
  checkDates(ek.certificate, now, 'EK certificate');
  const chain = extendPath([ek.certificate], { leaf: ek.certificate, options, now, budget: MAX_PATH_SIGNATURE_CHECKS });
  return { ek, publicKey: ek.publicKey, issuer: ek.issuer, chain };
}
