// Reverse lookup of constant names for messages: constantName('TPM_ALG_', 0x0b) -> 'TPM_ALG_SHA256'.
import * as C from './constants';

const tables = new Map<string, Map<number, string>>();

/** The constant name with `prefix` whose value is `value`, or `prefix0x..` when none matches. */
export function constantName(prefix: string, value: number): string {
  let t = tables.get(prefix);
  if (!t) {
    t = new Map();
    for (const [k, v] of Object.entries(C)) if (k.startsWith(prefix) && typeof v === 'number' && !t.has(v)) t.set(v, k);
    tables.set(prefix, t);
  }
  return t.get(value) ?? `${prefix}0x${value.toString(16)}`;
}

/** The TPM hash algorithms (Part 2 6.3 TPM_ALG_ID; the TPMU_HA members): digest size, and Node's name if any. */
export const HASH_ALGORITHMS: Readonly<Record<number, { readonly size: number; readonly nodeName?: string }>> = {
  [C.TPM_ALG_SHA1]: { size: 20, nodeName: 'sha1' },
  [C.TPM_ALG_SHA256]: { size: 32, nodeName: 'sha256' },
  [C.TPM_ALG_SHA384]: { size: 48, nodeName: 'sha384' },
  [C.TPM_ALG_SHA512]: { size: 64, nodeName: 'sha512' },
  [C.TPM_ALG_SM3_256]: { size: 32 },
  [C.TPM_ALG_SHA3_256]: { size: 32, nodeName: 'sha3-256' },
  [C.TPM_ALG_SHA3_384]: { size: 48, nodeName: 'sha3-384' },
  [C.TPM_ALG_SHA3_512]: { size: 64, nodeName: 'sha3-512' },
};

/** Digest size in bytes of a TPM hash algorithm, or undefined if not a supported hash. */
export function digestSize(hashAlg: number): number | undefined {
  return HASH_ALGORITHMS[hashAlg]?.size;
}

/** Node crypto hash name of a TPM hash algorithm (sha1, sha256, sha384, sha512, sha3-*), or undefined. */
export function nodeHashName(hashAlg: number): string | undefined {
  return HASH_ALGORITHMS[hashAlg]?.nodeName;
}
