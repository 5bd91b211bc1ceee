// The EK certificate profile (TCG EK Credential Profile for TPM Family 2.0, 3.2) and the algorithm rules
// every certificate on an EK certificate's path must meet. A certificate that chains to a trusted CA is
// still not an EK certificate unless its own fields say so: a TLS leaf or a CA from a mixed-use CA must
// never stand in for one (its holder has the private key; a TPM's EK private key never leaves the TPM).
import { KeyObject, X509Certificate } from 'node:crypto';
import { children, decodeOid, DerElement, DerError, expectTag, readElement, TAG_OID, TAG_SEQUENCE } from './der';
import { TpmVerifyError } from './errors';
import {
  bitStringBits,
  certificateExtensions,
  decodeBasicConstraints,
  oidSequence,
  signatureAlgorithm,
  type X509Extension,
} from './x509-fields';

export const OID_KEY_USAGE = '2.5.29.15';
export const OID_SAN = '2.5.29.17';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_EXT_KEY_USAGE = '2.5.29.37';
/** The EK certificate extended key usage (tcg-kp-EKCertificate). */
export const OID_EK_CERTIFICATE_EKU = '2.23.133.8.1';

/**
 * Extensions this code acts on, the only ones accepted when marked critical (RFC 5280, 4.2: a certificate
 * with a critical extension the verifier does not process must be refused). EK certificates mark the TPM
 * subjectAltName, basicConstraints and keyUsage critical.
 */
export const PROCESSED_CRITICAL_EXTENSIONS: ReadonlyMap<string, string> = new Map([
  [OID_KEY_USAGE, 'keyUsage'],
  [OID_SAN, 'subjectAltName'],
  [OID_BASIC_CONSTRAINTS, 'basicConstraints'],
  [OID_EXT_KEY_USAGE, 'extKeyUsage'],
]);

// keyUsage bits (RFC 5280, 4.2.1.3).
const KU_KEY_ENCIPHERMENT = 2;
const KU_KEY_AGREEMENT = 4;
const KU_KEY_CERT_SIGN = 5;

/** Smallest RSA modulus accepted on an EK certificate's path (the EK itself and every CA key). */
export const MIN_RSA_BITS = 2048;
/** EC curves accepted (Node's names): NIST P-256, P-384, P-521. */
const EC_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

type SigHash = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
const HASH_OIDS: Record<string, SigHash> = {
  '1.2.840.113549.2.5': 'md5',
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
// Signature algorithms with the hash fixed by the OID (RFC 4055, RFC 5758, RFC 8017 A.2.4).
const SIGNATURE_OIDS: Record<string, { name: string; hash: SigHash }> = {
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', hash: 'md5' },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', hash: 'sha1' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption', hash: 'sha224' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512' },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { name: 'ecdsa-with-SHA224', hash: 'sha224' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512' },
};
const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';
const OID_MGF1 = '1.2.840.113549.1.1.8';
const STRONG_HASHES: ReadonlySet<SigHash> = new Set(['sha256', 'sha384', 'sha512']);

/** Options of the profile and algorithm checks. */
export interface EkProfileOptions {
  /** Refuse an EK certificate without an extended key usage (default false: when present it must name the EK purpose). */
  requireEku?: boolean;
  /** Accept SHA-1 signatures (RSA PKCS#1 v1.5, PSS, ECDSA) on the path; some older EK certificates need it. Default false. */
  allowSha1?: boolean;
}

/** How a certificate is named in messages: its subject, or serial and issuer when the subject is empty (as in Google's vTPM EK certificates). */
export function certificateLabel(c: X509Certificate): string {
  return c.subject ? `"${oneLineDn(c.subject)}"` : `serial ${c.serialNumber} from "${oneLineDn(c.issuer)}"`;
}

/** A distinguished name as Node prints it (one RDN per line) on one line, for messages and logs. */
export function oneLineDn(dn: string): string {
  return dn.replace(/\n/g, ', ');
}

function hashOf(el: DerElement | undefined, what: string): SigHash | string {
  const alg = children(expectTag(el, TAG_SEQUENCE, what));
  const oid = decodeOid(expectTag(alg[0], TAG_OID, what).content);
  return HASH_OIDS[oid] ?? oid;
}

// RSASSA-PSS-params (RFC 4055, 3.1): the hash [0] and the MGF1 hash [1], both defaulting to SHA-1.
function pssHashes(params: DerElement | undefined): { hash: string; mgfHash: string } {
  let hash: string = 'sha1';
  let mgfHash: string = 'sha1';
  if (!params) return { hash, mgfHash };
  for (const field of children(expectTag(params, TAG_SEQUENCE, 'RSASSA-PSS-params'))) {
    if (field.tag === 0xa0) hash = hashOf(children(field)[0], 'PSS hashAlgorithm');
    if (field.tag === 0xa1) {
      const mgf = children(expectTag(children(field)[0], TAG_SEQUENCE, 'PSS maskGenAlgorithm'));
      const oid = decodeOid(expectTag(mgf[0], TAG_OID, 'PSS maskGenAlgorithm').content);
      if (oid !== OID_MGF1) throw new DerError(`PSS mask generation ${oid} is not MGF1`);
      mgfHash = hashOf(mgf[1], 'MGF1 hash');
    }
  }
  return { hash, mgfHash };
}

function fieldError(c: X509Certificate, what: string, err: unknown): TpmVerifyError {
  if (err instanceof DerError)
    return new TpmVerifyError('EK_CERT_MALFORMED', `${what} ${certificateLabel(c)}: ${err.message}`, { cause: err });
  throw err;
}

/**
 * Checks that `c` is signed with an allow-listed algorithm: RSA PKCS#1 v1.5, RSA-PSS (MGF1) or ECDSA, each
 * with SHA-256, SHA-384 or SHA-512; SHA-1 only with `allowSha1`; MD5, SHA-224 and anything else never.
 * Throws EK_CERT_SIGNATURE_ALGORITHM (EK_CERT_MALFORMED when the field does not decode). Does NOT verify the
 * signature.
 */
export function checkSignatureAlgorithm(c: X509Certificate, what: string, options: EkProfileOptions = {}): void {
  let name: string;
  let hashes: string[];
  try {
    const alg = signatureAlgorithm(new Uint8Array(c.raw));
    if (alg.oid === OID_RSASSA_PSS) {
      const pss = pssHashes(alg.parameters);
      name = `RSASSA-PSS (hash ${pss.hash}, MGF1 ${pss.mgfHash})`;
      hashes = [pss.hash, pss.mgfHash];
    } else {
      const known = SIGNATURE_OIDS[alg.oid];
      name = known?.name ?? `algorithm ${alg.oid}`;
      hashes = [known?.hash ?? 'unknown'];
    }
  } catch (err) {
    throw fieldError(c, what, err);
  }
  const ok = (h: string) => STRONG_HASHES.has(h as SigHash) || (h === 'sha1' && options.allowSha1 === true);
  if (hashes.every(ok)) return;
  const sha1Note =
    hashes.includes('sha1') && hashes.every((h) => ok(h) || h === 'sha1')
      ? '; SHA-1 is accepted only when explicitly allowed'
      : '';
  throw new TpmVerifyError(
    'EK_CERT_SIGNATURE_ALGORITHM',
    `${what} ${certificateLabel(c)} is signed with ${name}: accepted are RSA PKCS#1 v1.5, RSA-PSS and ECDSA with SHA-256, SHA-384 or SHA-512${sha1Note}`,
  );
}

/** Throws EK_CERT_CRITICAL_EXTENSION when `c` marks critical an extension outside PROCESSED_CRITICAL_EXTENSIONS. */
export function checkCriticalExtensions(c: X509Certificate, what: string): X509Extension[] {
  let exts: X509Extension[];
  try {
    exts = certificateExtensions(new Uint8Array(c.raw));
  } catch (err) {
    throw fieldError(c, what, err);
  }
  const seen = new Set<string>();
  for (const e of exts) {
    // RFC 5280, 4.2: an extension appears at most once; two could say different things to different parsers.
    if (seen.has(e.oid))
      throw new TpmVerifyError('EK_CERT_MALFORMED', `${what} ${certificateLabel(c)}: extension ${e.oid} appears twice`);
    seen.add(e.oid);
    if (e.critical && !PROCESSED_CRITICAL_EXTENSIONS.has(e.oid))
      throw new TpmVerifyError(
        'EK_CERT_CRITICAL_EXTENSION',
        `${what} ${certificateLabel(c)} has the unknown critical extension ${e.oid}`,
      );
  }
  return exts;
}

/** Throws EK_CERT_KEY_WEAK unless `key` is RSA with at least MIN_RSA_BITS or EC on NIST P-256/P-384/P-521. */
export function checkKeyStrength(key: KeyObject, c: X509Certificate, what: string): void {
  const type = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if ((type === 'rsa' || type === 'rsa-pss') && (d.modulusLength ?? 0) >= MIN_RSA_BITS) return;
  if (type === 'ec' && EC_CURVES.has(d.namedCurve ?? '')) return;
  const has =
    type === 'ec'
      ? `EC ${d.namedCurve}`
      : type === 'rsa' || type === 'rsa-pss'
        ? `RSA ${d.modulusLength} bits`
        : String(type);
  throw new TpmVerifyError(
    'EK_CERT_KEY_WEAK',
    `${what} ${certificateLabel(c)} has a ${has} key: accepted are RSA >= ${MIN_RSA_BITS} bits and EC P-256, P-384, P-521`,
  );
}

/**
 * Checks that `c` is an EK certificate by its own fields, in this order (each its own code):
 * no unknown critical extension (EK_CERT_CRITICAL_EXTENSION); not a CA: basicConstraints cA false and no
 * keyCertSign (EK_CERT_IS_CA); keyUsage, when present, has keyEncipherment for an RSA key or keyAgreement for
 * an EC key (EK_CERT_KEY_USAGE); extKeyUsage, when present or when `requireEku`, includes 2.23.133.8.1
 * (EK_CERT_EKU); the key is RSA >= 2048 or EC P-256/384/521 (EK_CERT_KEY_WEAK); the signature algorithm is
 * allow-listed (EK_CERT_SIGNATURE_ALGORITHM). Fields that do not decode: EK_CERT_MALFORMED.
 * Does NOT check the signature, dates or issuer (verifyEkCertificate does), nor the TPM attributes in the
 * subjectAltName (which TCG makes optional).
 */
export function verifyEkCertificateProfile(c: X509Certificate, options: EkProfileOptions = {}): void {
  const what = 'EK certificate';
  const exts = checkCriticalExtensions(c, what);
  const ext = (oid: string) => exts.find((e) => e.oid === oid);
  let keyUsage: Set<number> | undefined;
  let eku: string[] | undefined;
  let isCa: boolean;
  try {
    // Read here: Node's X509Certificate.ca is false for cA TRUE without keyCertSign, which an EK must not have either.
    const bc = ext(OID_BASIC_CONSTRAINTS);
    isCa = bc ? decodeBasicConstraints(bc.value).ca : false;
    const ku = ext(OID_KEY_USAGE);
    keyUsage = ku ? bitStringBits(readElement(ku.value)) : undefined;
    const ek = ext(OID_EXT_KEY_USAGE);
    eku = ek ? oidSequence(ek.value, 'extKeyUsage') : undefined;
  } catch (err) {
    throw fieldError(c, what, err);
  }
  if (isCa || c.ca)
    throw new TpmVerifyError(
      'EK_CERT_IS_CA',
      `${what} ${certificateLabel(c)} is a CA certificate (basicConstraints cA is TRUE): an EK certificate is an end-entity certificate`,
    );
  if (keyUsage?.has(KU_KEY_CERT_SIGN))
    throw new TpmVerifyError(
      'EK_CERT_IS_CA',
      `${what} ${certificateLabel(c)} allows keyCertSign: an EK certificate may not sign certificates`,
    );
  const rsa = c.publicKey.asymmetricKeyType === 'rsa' || c.publicKey.asymmetricKeyType === 'rsa-pss';
  if (keyUsage) {
    const [bit, name] = rsa ? [KU_KEY_ENCIPHERMENT, 'keyEncipherment'] : [KU_KEY_AGREEMENT, 'keyAgreement'];
    if (!keyUsage.has(bit))
      throw new TpmVerifyError(
        'EK_CERT_KEY_USAGE',
        `${what} ${certificateLabel(c)}: keyUsage lacks ${name}, which an ${rsa ? 'RSA' : 'EC'} EK certificate must allow`,
      );
  }
  if (eku ? !eku.includes(OID_EK_CERTIFICATE_EKU) : options.requireEku === true) {
    const has = eku ? `extKeyUsage (${eku.join(', ') || 'empty'}) lacks` : 'has no extKeyUsage; required:';
    throw new TpmVerifyError(
      'EK_CERT_EKU',
      `${what} ${certificateLabel(c)} ${has} the EK certificate purpose ${OID_EK_CERTIFICATE_EKU}`,
    );
  }
  checkKeyStrength(c.publicKey, c, what);
  checkSignatureAlgorithm(c, what, options);
}
