// Hash algorithms by TPM_ALG_ID (TPM 2.0 Part 2, 6.3; the TPMU_HA members of 10.3.1): the one table of
// digest sizes, and of Node's digest names for the hashes this project computes (also the PCR bank names).
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

/** ID, Node digest name and digest size of a TPM hash algorithm this project computes; throws UNSUPPORTED_ALGORITHM otherwise. */
export function hashInfo(alg: number): { alg: TpmiAlgHash; name: HashName; size: number } {
  const h = HASHES.find((x) => x.alg === alg && x.name);
  if (!h) throw unsupported(`hash algorithm 0x${alg.toString(16).padStart(4, '0')}`);
  return { alg: h.alg as TpmiAlgHash, name: h.name!, size: h.size };
}

/** True when `s` names a hash this project computes (a PCR bank name). */
export function isHashName(s: string): s is HashName {
  return (HASH_NAMES as readonly string[]).includes(s);
}

/** The TPM_ALG_ID of a hash named as Node names it (`sha256`, ...). */
export function hashAlgId(name: HashName): TpmiAlgHash {
  const h = HASHES.find((x) => x.name !== undefined && x.name === name);
  if (!h) throw unsupported(`hash ${String(name)}`);
  return h.alg as TpmiAlgHash;
}

/** Digest size in bytes of a Node hash name. */
export function hashSize(name: HashName): number {
  return hashInfo(hashAlgId(name)).size;
}
