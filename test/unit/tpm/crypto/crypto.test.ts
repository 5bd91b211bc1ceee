import { createHash, createHmac, generateKeyPairSync, KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as C from '../../../../tpm/marshal/constants';
import { kdfa, kdfe } from '../../../../tpm/crypto/kdf';
import { DIGEST_SIZES, HASH_NAMES, hashAlgId, hashInfo, hashSize, isHashName } from '../../../../tpm/crypto/hash';
import {
  encodeTpm2bPublic,
  parseTpm2bPublic,
  publicFromKeyObject,
  publicToKeyObject,
  publicToPkixDer,
  tpmName,
} from '../../../../tpm/crypto/public-key';
import type { TpmtPublic } from '../../../../tpm/crypto/public-codec';
import { makeCredential } from '../../../../tpm/crypto/make-credential';
import { TpmCryptoError } from '../../../../tpm/crypto/errors';
import { softwareActivate } from '../../../helpers/software-tpm';

const FIX = join(__dirname, '..', '..', '..', 'fixtures', 'tpm');
const fixture = (n: string) => new Uint8Array(readFileSync(join(FIX, n)));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('the hash table', () => {
  test.each(HASH_NAMES.map((n) => [n]))('%s: TPM_ALG_ID and back, digest size equal to what Node computes', (name) => {
    const size = createHash(name).digest().length;
    expect(hashInfo(hashAlgId(name))).toEqual({ alg: hashAlgId(name), name, size });
    expect(hashSize(name)).toBe(size);
    expect(DIGEST_SIZES.get(hashAlgId(name))).toBe(size);
    expect(isHashName(name)).toBe(true);
  });

  test.each([
    [C.TPM_ALG_SM3_256, 32, 'hash algorithm 0x0012 is not supported'],
    [C.TPM_ALG_SHA3_256, 32, 'hash algorithm 0x0027 is not supported'],
    [C.TPM_ALG_SHA3_512, 64, 'hash algorithm 0x0029 is not supported'],
    [C.TPM_ALG_NULL, undefined, 'hash algorithm 0x0010 is not supported'],
  ])('TPM_ALG_ID %d: TPMT_HA digest size %s, but no hash this project computes', (alg, size, message) => {
    expect(DIGEST_SIZES.get(alg)).toBe(size);
    let err: unknown;
    try {
      hashInfo(alg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TpmCryptoError);
    expect(err).toMatchObject({ code: 'UNSUPPORTED_ALGORITHM', message });
  });

  test('bank names are the four computed hashes only', () => {
    expect(HASH_NAMES).toEqual(['sha1', 'sha256', 'sha384', 'sha512']);
    expect(['sha3-256', 'sm3_256', 'md5', ''].filter(isHashName)).toEqual([]);
  });
});

describe('KDFa / KDFe', () => {
  const key = new Uint8Array(32).fill(7);
  const u = new Uint8Array([1, 2, 3]);
  const v = new Uint8Array([4, 5]);
  it('KDFa block 1 is HMAC(key, [1] || label || 0 || u || v || [bits]) and later blocks use the counter', () => {
    const out = kdfa('sha256', key, 'STORAGE', u, v, 512);
    const block = (i: number) =>
      createHmac('sha256', key)
        .update(Buffer.from([0, 0, 0, i]))
        .update('STORAGE\0')
        .update(u)
        .update(v)
        .update(Buffer.from([0, 0, 2, 0]))
        .digest();
    expect(hex(out)).toBe(hex(Buffer.concat([block(1), block(2)])));
  });
  it('a label with or without its NUL is the same label', () => {
    expect(hex(kdfa('sha256', key, 'INTEGRITY', u, v, 256))).toBe(hex(kdfa('sha256', key, 'INTEGRITY\0', u, v, 256)));
    expect(hex(kdfe('sha384', key, 'IDENTITY', u, v, 384))).toBe(hex(kdfe('sha384', key, 'IDENTITY\0', u, v, 384)));
  });
  it('the bit count is part of the input and odd sizes mask the top byte', () => {
    const a = kdfa('sha256', key, 'X', u, v, 128);
    const b = kdfa('sha256', key, 'X', u, v, 256);
    expect(hex(a)).not.toBe(hex(b.subarray(0, 16)));
    const odd = kdfa('sha256', key, 'X', u, v, 12);
    expect(odd.length).toBe(2);
    expect(odd[0] & 0xf0).toBe(0);
  });
  it('refuses absurd sizes', () => {
    expect(() => kdfa('sha256', key, 'X', u, v, 0)).toThrow(TpmCryptoError);
    expect(() => kdfe('sha256', key, 'X', u, v, 1 << 20)).toThrow('KDF output size 1048576 bits is not in 1..8192');
  });
});

describe('TPM Name and public keys (swtpm + tpm2-tools golden vectors)', () => {
  it.each(['ek-rsa', 'ek-ecc', 'ak-rsa', 'ak-ecc', 'ak-rsapss'])(
    '%s: our Name equals tpm2_readpublic/createak -n',
    (n) => {
      const p = parseTpm2bPublic(fixture(`${n}.pub`));
      expect(hex(tpmName(p))).toBe(hex(fixture(`${n}.name`)));
      expect(hex(tpmName(p.value))).toBe(hex(fixture(`${n}.name`))); // canonical re-marshal gives the same bytes
      expect(hex(encodeTpm2bPublic(p.value))).toBe(hex(fixture(`${n}.pub`)));
    },
  );
  it.each([
    ['ek-rsa', 'ek-rsa-cert.der'],
    ['ek-ecc', 'ek-ecc-cert.der'],
  ])('%s public area converts to the key in its EK certificate (PKIX DER equal)', (n, cert) => {
    const pub = parseTpm2bPublic(fixture(`${n}.pub`)).value;
    const certKey = new X509Certificate(fixture(cert)).publicKey;
    expect(hex(publicToPkixDer(pub))).toBe(hex(certKey.export({ type: 'spki', format: 'der' })));
    expect(publicToKeyObject(pub).equals(certKey)).toBe(true);
    // and back: the certificate key in the EK template gives the same public area
    expect(hex(encodeTpm2bPublic(publicFromKeyObject(certKey, pub)))).toBe(hex(fixture(`${n}.pub`)));
  });
  it('refuses a modulus that does not match keyBits and a point off the curve', () => {
    const rsa = parseTpm2bPublic(fixture('ak-rsa.pub')).value as Extract<TpmtPublic, { type: 1 }>;
    expect(() => publicToKeyObject({ ...rsa, unique: rsa.unique.slice(1) })).toThrow(
      'RSA modulus of 255 bytes does not match keyBits 2048',
    );
    const ecc = parseTpm2bPublic(fixture('ak-ecc.pub')).value as Extract<TpmtPublic, { type: 0x23 }>;
    const y = Uint8Array.from(ecc.unique.y);
    y[5] ^= 1;
    const e = (() => {
      try {
        publicToKeyObject({ ...ecc, unique: { x: ecc.unique.x, y } });
      } catch (x) {
        return x;
      }
    })() as TpmCryptoError;
    expect(e).toBeInstanceOf(TpmCryptoError);
    expect(e.code).toBe('INVALID_KEY');
  });
});

describe('KeyObjects kept by key fields', () => {
  const rsa = parseTpm2bPublic(fixture('ak-rsa.pub')).value as Extract<TpmtPublic, { type: 1 }>;
  const ecc = parseTpm2bPublic(fixture('ak-ecc.pub')).value as Extract<TpmtPublic, { type: 0x23 }>;
  it('the same key fields give the same KeyObject, even from another decode', () => {
    const again = parseTpm2bPublic(fixture('ak-rsa.pub')).value;
    expect(publicToKeyObject(again)).toBe(publicToKeyObject(rsa));
    expect(publicToKeyObject({ ...ecc })).toBe(publicToKeyObject(ecc));
  });
  it('one changed byte or field gives another key', () => {
    const n = Uint8Array.from(rsa.unique);
    n[n.length - 1] ^= 2;
    const other = publicToKeyObject({ ...rsa, unique: n });
    expect(other).not.toBe(publicToKeyObject(rsa));
    expect(other.equals(publicToKeyObject(rsa))).toBe(false);
    const e3 = publicToKeyObject({ ...rsa, parameters: { ...rsa.parameters, exponent: 3 } });
    expect(e3.export({ format: 'jwk' }).e).toBe('Aw');
  });
  it('publicToPkixDer hands out a copy: changing it changes nothing kept', () => {
    const der = publicToPkixDer(rsa);
    const want = hex(der);
    der.fill(0);
    expect(hex(publicToPkixDer(rsa))).toBe(want);
  });
  it('a refused key is refused again (never kept)', () => {
    const bad = { ...rsa, unique: rsa.unique.slice(1) };
    for (let i = 0; i < 2; i++)
      expect(() => publicToKeyObject(bad)).toThrow('RSA modulus of 255 bytes does not match keyBits 2048');
  });
});

// softwareActivate (test/helpers/software-tpm): an independent software ActivateCredential with the EK private
// key (Part 1, 24), to check our blobs round-trip.

describe('makeCredential', () => {
  const akName = fixture('ak-rsa.name');
  const credential = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
  const cases: Array<[string, TpmtPublic, KeyObject]> = [];
  for (const [label, tmpl, pair] of [
    ['RSA-2048 EK (AES-128, SHA-256)', 'ek-rsa.pub', generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['ECC P-384 EK (AES-256, SHA-384)', 'ek-ecc.pub', generateKeyPairSync('ec', { namedCurve: 'secp384r1' })],
  ] as const) {
    const template = parseTpm2bPublic(fixture(tmpl)).value;
    cases.push([label, publicFromKeyObject(pair.publicKey, template), pair.privateKey]);
  }
  const p256Template = parseTpm2bPublic(fixture('ek-ecc.pub')).value as Extract<TpmtPublic, { type: 0x23 }>;
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  cases.push([
    'ECC P-256 EK (AES-128, SHA-256)',
    publicFromKeyObject(p256.publicKey, {
      ...p256Template,
      nameAlg: C.TPM_ALG_SHA256,
      parameters: {
        ...p256Template.parameters,
        symmetric: { algorithm: C.TPM_ALG_AES, keyBits: 128, mode: C.TPM_ALG_CFB },
      },
    }),
    p256.privateKey,
  ]);

  it.each(cases)('%s: the blob activates to the credential for the right Name only', (_n, ek, priv) => {
    const m = makeCredential({ ekPublic: ek, objectName: akName, credential });
    expect(hex(softwareActivate(ek, priv, akName, m.idObject, m.encryptedSecret))).toBe(hex(credential));
    const wrongName = Uint8Array.from(akName);
    wrongName[5] ^= 1;
    expect(() => softwareActivate(ek, priv, wrongName, m.idObject, m.encryptedSecret)).toThrow(
      'integrity HMAC mismatch',
    );
    // two calls never share a seed
    expect(hex(makeCredential({ ekPublic: ek, objectName: akName, credential }).encryptedSecret)).not.toBe(
      hex(m.encryptedSecret),
    );
  });

  it.each(cases)('%s: the seed, derived keys and plaintext credential are zero once it returns', (_n, ek, priv) => {
    let seen: Uint8Array[] = [];
    const copies: string[] = [];
    let drawn: Uint8Array | undefined;
    const m = makeCredential({
      ekPublic: ek,
      objectName: akName,
      credential,
      random: (n) => (drawn = new Uint8Array(n).fill(0xa5)),
      onWipe: (buffers) => {
        seen = [...buffers];
        copies.push(...buffers.map(hex));
      },
    });
    // seed, storage key, TPM2B credential, HMAC key: non-zero when handed over, zero afterwards.
    expect(seen).toHaveLength(4);
    for (const c of copies) expect(c).not.toMatch(/^(00)*$/);
    for (const b of seen) expect(b.every((v) => v === 0)).toBe(true);
    // The RSA seed is the buffer the random source filled.
    if (ek.type === C.TPM_ALG_RSA) expect(seen[0]).toBe(drawn);
    // ... and the blob made from them still activates.
    expect(hex(softwareActivate(ek, priv, akName, m.idObject, m.encryptedSecret))).toBe(hex(credential));
  });

  it.each<[string, () => unknown, string]>([
    [
      'an empty credential',
      () => makeCredential({ ekPublic: cases[0][1], objectName: akName, credential: new Uint8Array(0) }),
      'credential of 0 bytes: must be 1..32 (digest size of the EK nameAlg)',
    ],
    [
      'a credential larger than the nameAlg digest',
      () => makeCredential({ ekPublic: cases[0][1], objectName: akName, credential: new Uint8Array(33) }),
      'credential of 33 bytes: must be 1..32',
    ],
    [
      'a Name that is not a digest Name',
      () => makeCredential({ ekPublic: cases[0][1], objectName: new Uint8Array(4), credential }),
      'object Name of 4 bytes is not a digest Name',
    ],
    [
      'an EK without AES-CFB',
      () =>
        makeCredential({
          ekPublic: {
            ...cases[0][1],
            parameters: { ...(cases[0][1].parameters as object), symmetric: { algorithm: C.TPM_ALG_NULL } },
          } as TpmtPublic,
          objectName: akName,
          credential,
        }),
      'is not AES-CFB',
    ],
  ])('refuses %s', (_n, f, message) => {
    expect(f).toThrow(TpmCryptoError);
    expect(f).toThrow(message);
  });
});
