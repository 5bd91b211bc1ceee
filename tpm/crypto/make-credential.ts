// TPM2_MakeCredential in software (TPM 2.0 Part 1, 24 "Credential Protection"; Part 3, 12.6): protect a
// credential so that only the TPM holding the EK private key, and only for an object with the given Name,
// can recover it with TPM2_ActivateCredential.
import { createCipheriv, createHmac, diffieHellman, generateKeyPairSync, publicEncrypt, constants } from 'node:crypto';
import { marshal } from '../marshal/codec';
import * as C from '../marshal/constants';
import { TpmsEccPoint } from '../types/public';
import { TpmCryptoError } from './errors';
import { hashInfo } from './hash';
import { kdfa, kdfe } from './kdf';
import { curveInfo, publicToKeyObject } from './public-key';
import { randomBytesFresh } from './random';
import type { TpmtPublic } from './public-codec';

export interface MakeCredentialOptions {
  /** The EK public area (RSA or NIST ECC storage key with an AES-CFB symmetric definition). */
  ekPublic: TpmtPublic;
  /** Name of the object the credential is bound to (the AK): nameAlg || digest. */
  objectName: Uint8Array;
  /** The secret (at most the EK nameAlg's digest size, as a TPM2B_DIGEST the TPM will return). */
  credential: Uint8Array;
  /** Randomness source (default: fresh bytes from node:crypto's generator); tests may pin it. Used for the RSA seed only. */
  random?: (n: number) => Uint8Array;
  /**
   * Tests: shown the seed and derived keys (seed, storage key, plaintext credential, HMAC key) just before
   * they are zeroed, so a test can see them non-zero and then zero.
   */
  onWipe?: (buffers: readonly Uint8Array[]) => void;
}

export interface MadeCredential {
  /** TPM2B_ID_OBJECT, size prefix included: u16 || TPM2B_DIGEST(integrityHMAC) || encIdentity. */
  idObject: Uint8Array;
  /** TPM2B_ENCRYPTED_SECRET, size prefix included: RSA-OAEP ciphertext, or the ephemeral TPMS_ECC_POINT. */
  encryptedSecret: Uint8Array;
}

function tpm2b(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + body.length);
  out[0] = body.length >>> 8;
  out[1] = body.length & 0xff;
  out.set(body, 2);
  return out;
}

// The OAEP label of the seed (Part 1, B.10.4); node:crypto only reads it.
const IDENTITY_LABEL = Buffer.from('IDENTITY\0', 'latin1');
const ZERO_IV = Buffer.alloc(16);
const EMPTY = new Uint8Array(0);

// Seed and its encryption to the EK (Part 1, 11.4.9 / annex B.10 (RSA), C.6 (ECC)).
function seedFor(ek: TpmtPublic, random: (n: number) => Uint8Array): { seed: Uint8Array; secret: Uint8Array } {
  const hash = hashInfo(ek.nameAlg);
  const key = publicToKeyObject(ek);
  if (ek.type === C.TPM_ALG_RSA) {
    const seed = random(hash.size);
    const secret = publicEncrypt(
      {
        key,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: hash.name,
        oaepLabel: IDENTITY_LABEL,
      },
      seed,
    );
    return { seed, secret };
  }
  if (ek.type === C.TPM_ALG_ECC) {
    const curve = curveInfo(ek.parameters.curveID);
    const eph = generateKeyPairSync('ec', { namedCurve: curve.node });
    const jwk = eph.publicKey.export({ format: 'jwk' });
    const x = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
    const y = new Uint8Array(Buffer.from(jwk.y!, 'base64url'));
    // Node returns the shared point's x-coordinate, padded to the field size, as the TPM computes Z.
    const z = diffieHellman({ privateKey: eph.privateKey, publicKey: key });
    try {
      const seed = kdfe(hash.name, z, 'IDENTITY', x, ek.unique.x, hash.size * 8);
      return { seed, secret: marshal(TpmsEccPoint, { x, y }) };
    } finally {
      z.fill(0);
    }
  }
  throw new TpmCryptoError(
    'UNSUPPORTED_ALGORITHM',
    `EK type 0x${(ek as { type: number }).type.toString(16)} cannot receive a credential`,
  );
}

/**
 * Software TPM2_MakeCredential for an RSA or ECC (NIST) EK: a fresh seed encrypted to the EK (RSA-OAEP
 * with label "IDENTITY", OAEP hash = EK nameAlg; or ephemeral ECDH on the EK's curve + KDFe), the storage
 * key (KDFa "STORAGE" over the object Name, size from the EK's AES keyBits) encrypting the TPM2B credential
 * with AES-CFB and a zero IV, and the outer HMAC (KDFa "INTEGRITY") over encIdentity || Name.
 * Checks the EK's type, curve, nameAlg and symmetric definition (AES-CFB only) and the credential size.
 * Does NOT check that the EK is genuine (verify its certificate) nor that `objectName` is a suitable AK
 * (verifyAkPolicy + comparing the Name with the AK public area the caller trusts). The caller still owes:
 * a fresh, unpredictable credential per attempt and a constant-time comparison of what comes back.
 */
export function makeCredential(options: MakeCredentialOptions): MadeCredential {
  const { ekPublic: ek, objectName, credential } = options;
  const hash = hashInfo(ek.nameAlg);
  if (credential.length === 0 || credential.length > hash.size)
    throw new TpmCryptoError(
      'INVALID_ARGUMENT',
      `credential of ${credential.length} bytes: must be 1..${hash.size} (digest size of the EK nameAlg)`,
    );
  if (objectName.length < 2 + 20 || objectName.length > 2 + 64)
    throw new TpmCryptoError('INVALID_ARGUMENT', `object Name of ${objectName.length} bytes is not a digest Name`);
  if (ek.type !== C.TPM_ALG_RSA && ek.type !== C.TPM_ALG_ECC)
    throw new TpmCryptoError('UNSUPPORTED_ALGORITHM', `EK type 0x${ek.type.toString(16)} cannot receive a credential`);
  const sym = ek.parameters.symmetric;
  if (
    sym.algorithm !== C.TPM_ALG_AES ||
    sym.mode !== C.TPM_ALG_CFB ||
    (sym.keyBits !== 128 && sym.keyBits !== 192 && sym.keyBits !== 256)
  )
    throw new TpmCryptoError(
      'UNSUPPORTED_ALGORITHM',
      `EK symmetric definition 0x${sym.algorithm.toString(16)}/${sym.keyBits}/0x${(sym.mode ?? 0).toString(16)} is not AES-CFB`,
    );

  const { seed, secret } = seedFor(ek, options.random ?? randomBytesFresh);
  // The seed, the keys derived from it and the plaintext copy of the credential are wiped before returning
  // (on every path): with any of them, a copy of the challenge could be opened without the TPM. Node's
  // cipher and HMAC objects keep their own key copies, released with the objects.
  const wiped: Uint8Array[] = [seed];
  try {
    const symKey = kdfa(hash.name, seed, 'STORAGE', objectName, EMPTY, sym.keyBits!);
    wiped.push(symKey);
    const cipher = createCipheriv(`aes-${sym.keyBits}-cfb`, symKey, ZERO_IV);
    const plain = tpm2b(credential);
    wiped.push(plain);
    // CFB is a stream mode: update() returns every byte and final() none.
    const encIdentity = cipher.update(plain);
    if (cipher.final().length !== 0 || encIdentity.length !== plain.length)
      throw new TpmCryptoError('INVALID_ARGUMENT', 'AES-CFB did not encrypt the credential in one pass');
    const hmacKey = kdfa(hash.name, seed, 'INTEGRITY', EMPTY, EMPTY, hash.size * 8);
    wiped.push(hmacKey);
    const integrity = createHmac(hash.name, hmacKey).update(encIdentity).update(objectName).digest();
    // TPM2B_ID_OBJECT: u16 size || TPM2B_DIGEST(integrity) || encIdentity, made in one array.
    const idObject = new Uint8Array(4 + integrity.length + encIdentity.length);
    idObject[0] = (idObject.length - 2) >>> 8;
    idObject[1] = (idObject.length - 2) & 0xff;
    idObject[2] = integrity.length >>> 8;
    idObject[3] = integrity.length & 0xff;
    idObject.set(integrity, 4);
    idObject.set(encIdentity, 4 + integrity.length);
    return { idObject, encryptedSecret: tpm2b(secret) };
  } finally {
    options.onWipe?.(wiped);
    for (const b of wiped) b.fill(0);
  }
}
