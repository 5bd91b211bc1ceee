// TPM_ALG_ID hash algorithms (TPM 2.0 Part 2, 6.3) mapped to Node's digest names.
import { TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512 } from '../marshal/constants';
import { TpmCryptoError } from './errors';

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const HASHES: Readonly<Record<number, { name: HashName; size: number }>> = {
  [TPM_ALG_SHA1]: { name: 'sha1', size: 20 },
  [TPM_ALG_SHA256]: { name: 'sha256', size: 32 },
  [TPM_ALG_SHA384]: { name: 'sha384', size: 48 },
  [TPM_ALG_SHA512]: { name: 'sha512', size: 64 },
};

/** Node digest name and digest size for a TPM hash algorithm ID; throws UNSUPPORTED_ALGORITHM otherwise. */
export function hashInfo(alg: number): { name: HashName; size: number } {
  const h = HASHES[alg];
  if (!h) throw new TpmCryptoError('UNSUPPORTED_ALGORITHM', `hash algorithm 0x${alg.toString(16).padStart(4, '0')} is not supported`);
  return h;
}

/** The TPM_ALG_ID of a hash named as Node names it (`sha256`, ...). */
export function hashAlgId(name: HashName): number {
  for (const [id, h] of Object.entries(HASHES)) if (h.name === name) return Number(id);
  throw new TpmCryptoError('UNSUPPORTED_ALGORITHM', `hash ${String(name)} is not supported`);
}

/** Digest size in bytes of a Node hash name. */
export function hashSize(name: HashName): number {
  return hashInfo(hashAlgId(name)).size;
}
