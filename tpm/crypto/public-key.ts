// TPMT_PUBLIC (TPM 2.0 Part 2, 12.2.4) <-> Node KeyObject / PKIX DER, and the TPM Name of a public area
// (Part 1, 16: nameAlg || H_nameAlg(TPMT_PUBLIC)).
import { createHash, createPublicKey, KeyObject } from 'node:crypto';
import { marshal, unmarshal, type WithBytes } from '../marshal/codec';
import * as C from '../marshal/constants';
import { Tpm2bPublicWithBytes, TpmtPublic, withBytesTpmtPublic } from './public-codec';
import { TpmCryptoError } from './errors';
import { digest, hashInfo } from './hash';
import { createBytesCache } from '../lru-cache';

/** NIST curves we map to Node: TPM_ECC_CURVE -> JWK curve name and field size in bytes. */
const CURVES: Readonly<Record<number, { jwk: string; node: string; size: number }>> = {
  [C.TPM_ECC_NIST_P256]: { jwk: 'P-256', node: 'prime256v1', size: 32 },
  [C.TPM_ECC_NIST_P384]: { jwk: 'P-384', node: 'secp384r1', size: 48 },
  [C.TPM_ECC_NIST_P521]: { jwk: 'P-521', node: 'secp521r1', size: 66 },
};

/** Field size and Node curve name of a TPM curve ID; throws UNSUPPORTED_ALGORITHM for non-NIST curves. */
export function curveInfo(curveID: number): { jwk: string; node: string; size: number } {
  const c = CURVES[curveID];
  if (!c)
    throw new TpmCryptoError(
      'UNSUPPORTED_ALGORITHM',
      `ECC curve 0x${curveID.toString(16).padStart(4, '0')} is not supported`,
    );
  return c;
}

/** A decoded TPMT_PUBLIC with the exact bytes it came from (no TPM2B size prefix; the Name hashes them). */
export type PublicArea = WithBytes<TpmtPublic>;

/**
 * Decodes a TPM2B_PUBLIC (u16 size + TPMT_PUBLIC, as `tpm2_createak -u`/`tpm2_readpublic -o` write and
 * Keylime's `tpm_ak` carries). Throws TpmMarshalError on malformed or oversized input.
 */
export function parseTpm2bPublic(bytes: Uint8Array): PublicArea {
  return unmarshal(Tpm2bPublicWithBytes, bytes);
}

/** Decodes a bare TPMT_PUBLIC. Throws TpmMarshalError on malformed input. */
export function parseTpmtPublic(bytes: Uint8Array): PublicArea {
  return unmarshal(withBytesTpmtPublic, bytes);
}

/** TPM2B_PUBLIC bytes of a public area. */
export function encodeTpm2bPublic(pub: TpmtPublic): Uint8Array {
  const body = marshal(TpmtPublic, pub);
  const out = new Uint8Array(2 + body.length);
  new DataView(out.buffer).setUint16(0, body.length);
  out.set(body, 2);
  return out;
}

/**
 * The TPM Name of an object: nameAlg (big-endian u16) || H_nameAlg(TPMT_PUBLIC bytes). Pass the bytes as
 * received when you have them (`PublicArea`); a decoded `TpmtPublic` is re-marshalled canonically.
 */
export function tpmName(pub: PublicArea | TpmtPublic): Uint8Array {
  const bytes = 'bytes' in pub && 'value' in pub ? pub.bytes : marshal(TpmtPublic, pub as TpmtPublic);
  const nameAlg = 'bytes' in pub && 'value' in pub ? pub.value.nameAlg : (pub as TpmtPublic).nameAlg;
  return nameOfPublicBytes(nameAlg, bytes);
}

// nameAlg || H_nameAlg(QN(parent) || Name(object))
function qualify(parentQualifiedName: Uint8Array, nameAlg: number, name: Uint8Array): Uint8Array {
  const input = new Uint8Array(parentQualifiedName.length + name.length);
  input.set(parentQualifiedName);
  input.set(name, parentQualifiedName.length);
  return nameOfPublicBytes(nameAlg, input);
}

/**
 * The Qualified Name of an object (TPM 2.0 Part 1, 16): nameAlg || H_nameAlg(QN(parent) || Name(object)).
 * A primary object's parent QN is its hierarchy handle (4 bytes, e.g. TPM_RH_ENDORSEMENT). `name` is the
 * object's Name when the caller already has it (default: computed).
 */
export function qualifiedName(parentQualifiedName: Uint8Array, object: PublicArea, name = tpmName(object)): Uint8Array {
  return qualify(parentQualifiedName, object.value.nameAlg, name);
}

/**
 * The Qualified Name of a primary key in the endorsement hierarchy (parent QN TPM_RH_ENDORSEMENT), from its
 * nameAlg and TPMT_PUBLIC bytes.
 */
export function endorsementQualifiedName(nameAlg: number, publicBytes: Uint8Array): Uint8Array {
  const endorsement = new Uint8Array(4);
  new DataView(endorsement.buffer).setUint32(0, C.TPM_RH_ENDORSEMENT);
  return qualify(endorsement, nameAlg, nameOfPublicBytes(nameAlg, publicBytes));
}

/**
 * The Qualified Name of `ak` if it is a child of the primary `ek` in the endorsement hierarchy. A quote
 * whose qualifiedSigner equals it was signed by such an AK, so its firmwareVersion is not obfuscated
 * (TPM 2.0 Part 3, 18.1).
 */
export function qualifiedNameUnderEk(ek: PublicArea, ak: PublicArea): Uint8Array {
  return qualifiedName(endorsementQualifiedName(ek.value.nameAlg, ek.bytes), ak);
}

/**
 * The TPM Name from a nameAlg and marshalled TPMT_PUBLIC bytes: nameAlg (u16) || H_nameAlg(bytes). Throws
 * TpmCryptoError UNSUPPORTED_ALGORITHM for a nameAlg other than SHA-1/256/384/512.
 */
export function nameOfPublicBytes(nameAlg: number, bytes: Uint8Array): Uint8Array {
  const d = digest(hashInfo(nameAlg).name, bytes);
  const out = new Uint8Array(2 + d.length);
  out[0] = nameAlg >>> 8;
  out[1] = nameAlg & 0xff;
  out.set(d, 2);
  return out;
}

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

function leftPad(b: Uint8Array, size: number, what: string): Uint8Array {
  if (b.length > size)
    throw new TpmCryptoError('INVALID_KEY', `${what} has ${b.length} bytes, more than the curve's ${size}`);
  const out = new Uint8Array(size);
  out.set(b, size - b.length);
  return out;
}

/** Most distinct public keys whose KeyObject (and PKIX DER) is kept: an EK and an AK per recent node. */
export const KEY_CACHE_ENTRIES = 2048;

// KeyObjects by the exact key fields they are made from: importing a key (and exporting its DER) costs more
// than the quote signature check it serves, and a node attests with the same EK and AK each time.
const keyCache = createBytesCache<{ key: KeyObject; spki?: Uint8Array }>(KEY_CACHE_ENTRIES);

// Every field importKey reads: the type and its numbers, then the key bytes.
function keyFields(pub: TpmtPublic): Uint8Array[] | undefined {
  if (pub.type === C.TPM_ALG_RSA)
    return [numbers(pub.type, pub.parameters.keyBits, pub.parameters.exponent), pub.unique];
  if (pub.type === C.TPM_ALG_ECC) return [numbers(pub.type, pub.parameters.curveID, 0), pub.unique.x, pub.unique.y];
  return undefined;
}

// Three u32 fields as 12 bytes (big-endian), in one allocation.
function numbers(a: number, b: number, c: number): Uint8Array {
  const out = Buffer.allocUnsafe(12);
  out.writeUInt32BE(a >>> 0, 0);
  out.writeUInt32BE(b >>> 0, 4);
  out.writeUInt32BE(c >>> 0, 8);
  return out;
}

function importKey(pub: TpmtPublic): KeyObject {
  try {
    if (pub.type === C.TPM_ALG_RSA) {
      const n = pub.unique;
      if (n.length * 8 !== pub.parameters.keyBits || n.length === 0 || (n[0] & 0x80) === 0)
        throw new TpmCryptoError(
          'INVALID_KEY',
          `RSA modulus of ${n.length} bytes does not match keyBits ${pub.parameters.keyBits}`,
        );
      const exponent = pub.parameters.exponent === 0 ? 65537 : pub.parameters.exponent;
      const e = Buffer.alloc(4);
      e.writeUInt32BE(exponent);
      let i = 0;
      while (i < 3 && e[i] === 0) i++;
      return createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e.subarray(i)) }, format: 'jwk' });
    }
    if (pub.type === C.TPM_ALG_ECC) {
      const c = curveInfo(pub.parameters.curveID);
      const x = leftPad(pub.unique.x, c.size, 'x');
      const y = leftPad(pub.unique.y, c.size, 'y');
      return createPublicKey({ key: { kty: 'EC', crv: c.jwk, x: b64url(x), y: b64url(y) }, format: 'jwk' });
    }
  } catch (e) {
    if (e instanceof TpmCryptoError) throw e;
    throw new TpmCryptoError('INVALID_KEY', `public area does not hold a valid key: ${(e as Error).message}`, {
      cause: e,
    });
  }
  throw new TpmCryptoError(
    'UNSUPPORTED_ALGORITHM',
    `public area type 0x${(pub as { type: number }).type.toString(16)} is not an RSA or ECC key`,
  );
}

function cachedKey(pub: TpmtPublic): { key: KeyObject; spki?: Uint8Array } {
  const fields = keyFields(pub);
  const hit = fields === undefined ? undefined : keyCache.get(fields);
  if (hit) return hit;
  // Only keys Node accepted are kept: a bad key fails again, with its own error, every time.
  const entry = { key: importKey(pub) };
  if (fields !== undefined) keyCache.set(fields, entry);
  return entry;
}

/**
 * The Node public KeyObject of an RSA or NIST-curve ECC public area. Checks the modulus length against
 * keyBits and that the ECC point is on the curve (Node refuses it otherwise). Does NOT look at attributes,
 * schemes or nameAlg. Throws TpmCryptoError (UNSUPPORTED_ALGORITHM, INVALID_KEY). The same key fields give
 * the same (immutable) KeyObject while they stay among the KEY_CACHE_ENTRIES most recently used.
 */
export function publicToKeyObject(pub: TpmtPublic): KeyObject {
  return cachedKey(pub).key;
}

/** PKIX SubjectPublicKeyInfo DER of an RSA or ECC public area (see `publicToKeyObject`); a fresh copy. */
export function publicToPkixDer(pub: TpmtPublic): Uint8Array {
  const entry = cachedKey(pub);
  entry.spki ??= new Uint8Array(entry.key.export({ type: 'spki', format: 'der' }));
  return entry.spki.slice();
}

/**
 * The EK hash: hex SHA-256 of the EK's PKIX DER (`publicToPkixDer`). It is the agent ID's last segment and an
 * `ek_hash_path` line (the value spire-tpm-plugin's get_tpm_pubhash prints).
 */
export function ekHashOfPkixDer(pkixDer: Uint8Array): string {
  return createHash('sha256').update(pkixDer).digest('hex');
}

/**
 * A public area for a Node public key: `template` supplies type-specific parameters, attributes, nameAlg
 * and authPolicy; the key fills `unique` (and RSA keyBits/exponent, ECC curveID). The key type must match
 * the template's type. Throws TpmCryptoError.
 */
export function publicFromKeyObject(key: KeyObject | Uint8Array, template: TpmtPublic): TpmtPublic {
  const k = key instanceof KeyObject ? key : createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' });
  const jwk = k.export({ format: 'jwk' });
  if (template.type === C.TPM_ALG_RSA && jwk.kty === 'RSA') {
    const n = new Uint8Array(Buffer.from(jwk.n!, 'base64url'));
    const e = Buffer.from(jwk.e!, 'base64url');
    if (e.length > 4) throw new TpmCryptoError('INVALID_KEY', `RSA exponent of ${e.length} bytes does not fit a u32`);
    const exponent = e.reduce((a, b) => a * 256 + b, 0);
    return {
      ...template,
      parameters: { ...template.parameters, keyBits: n.length * 8, exponent: exponent === 65537 ? 0 : exponent },
      unique: n,
    };
  }
  if (template.type === C.TPM_ALG_ECC && jwk.kty === 'EC') {
    const entry = Object.entries(CURVES).find(([, c]) => c.jwk === jwk.crv);
    if (!entry) throw new TpmCryptoError('UNSUPPORTED_ALGORITHM', `EC curve ${jwk.crv} is not supported`);
    const x = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
    const y = new Uint8Array(Buffer.from(jwk.y!, 'base64url'));
    return { ...template, parameters: { ...template.parameters, curveID: Number(entry[0]) }, unique: { x, y } };
  }
  throw new TpmCryptoError(
    'INVALID_KEY',
    `a ${jwk.kty} key does not fit a public area of type 0x${template.type.toString(16)}`,
  );
}
