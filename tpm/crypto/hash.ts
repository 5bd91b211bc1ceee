// Hash algorithms by TPM_ALG_ID (TPM 2.0 Part 2, 6.3; the TPMU_HA members of 10.3.1): the one table of
// digest sizes, and of Node's digest names for the hashes this project computes (also the PCR bank names).
import * as crypto from 'node:crypto';
import * as C from '../marshal/constants';
import { TpmCryptoError } from './errors';

/** The hashes this project computes, as Node names them; also the PCR banks a selection may name. */
export const HASH_NAMES = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
export type HashName = (typeof HASH_NAMES)[number];

/** A TPM_ALG_ID (Part 2 6.3) of a hash this project computes: TPMI_ALG_HASH less NULL and SM3/SHA-3. */
export type TpmiAlgHash =
  typeof C.TPM_ALG_SHA1 | typeof C.TPM_ALG_SHA256 | typeof C.TPM_ALG_SHA384 | typeof C.TPM_ALG_SHA512;

interface HashEntry {
  readonly alg: number;
  readonly size: number;
  /** Set for the hashes this project computes. */
  readonly name?: HashName;
}

const HASHES: readonly HashEntry[] = [
  { alg: C.TPM_ALG_SHA1, size: 20, name: 'sha1' },
  { alg: C.TPM_ALG_SHA256, size: 32, name: 'sha256' },
  { alg: C.TPM_ALG_SHA384, size: 48, name: 'sha384' },
  { alg: C.TPM_ALG_SHA512, size: 64, name: 'sha512' },
  // Wire-only: a TPMT_HA may carry them, nothing here hashes with them.
  { alg: C.TPM_ALG_SM3_256, size: 32 },
  { alg: C.TPM_ALG_SHA3_256, size: 32 },
  { alg: C.TPM_ALG_SHA3_384, size: 48 },
  { alg: C.TPM_ALG_SHA3_512, size: 64 },
];

/** Every hash algorithm a TPMU_HA may hold (SM3 and SHA-3 included), with its digest size in bytes. */
export const DIGEST_SIZES: ReadonlyMap<number, number> = new Map(HASHES.map((h) => [h.alg, h.size]));

const unsupported = (what: string) => new TpmCryptoError('UNSUPPORTED_ALGORITHM', `${what} is not supported`);

export interface HashInfo {
  readonly alg: TpmiAlgHash;
  readonly name: HashName;
  readonly size: number;
}

// Looked up at every hash of an attestation: one shared, frozen answer per algorithm, found without a scan.
const INFO_BY_ALG = new Map<number, HashInfo>(
  HASHES.filter((h) => h.name).map((h) => [
    h.alg,
    Object.freeze({ alg: h.alg as TpmiAlgHash, name: h.name!, size: h.size }),
  ]),
);
const INFO_BY_NAME = new Map<string, HashInfo>([...INFO_BY_ALG.values()].map((h) => [h.name, h]));

/** ID, Node digest name and digest size of a TPM hash algorithm this project computes; throws UNSUPPORTED_ALGORITHM otherwise. */
export function hashInfo(alg: number): HashInfo {
  const h = INFO_BY_ALG.get(alg);
  if (!h) throw unsupported(`hash algorithm 0x${alg.toString(16).padStart(4, '0')}`);
  return h;
}

/** True when `s` names a hash this project computes (a PCR bank name). */
export function isHashName(s: string): s is HashName {
  return INFO_BY_NAME.has(s);
}

function infoByName(name: HashName): HashInfo {
  const h = INFO_BY_NAME.get(name);
  if (!h) throw unsupported(`hash ${String(name)}`);
  return h;
}

/** The TPM_ALG_ID of a hash named as Node names it (`sha256`, ...). */
export function hashAlgId(name: HashName): TpmiAlgHash {
  return infoByName(name).alg;
}

/** Digest size in bytes of a Node hash name. */
export function hashSize(name: HashName): number {
  return infoByName(name).size;
}

// crypto.hash (Node 20.12+) digests without creating a Hash object, whose native handle the garbage collector
// must finalise: several per attestation otherwise.
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

/** The `name` digest of `data`, one shot. */
export function digest(name: HashName, data: Uint8Array): Buffer {
  return oneShot ? oneShot(name, data, 'buffer') : crypto.createHash(name).update(data).digest();
}
