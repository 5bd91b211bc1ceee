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

/** Digest size in bytes of a TPM hash algorithm, or undefined if not a supported hash. */
export function digestSize(hashAlg: number): number | undefined {
  switch (hashAlg) {
    case C.TPM_ALG_SHA1:
      return 20;
    case C.TPM_ALG_SHA256:
    case C.TPM_ALG_SM3_256:
    case C.TPM_ALG_SHA3_256:
      return 32;
    case C.TPM_ALG_SHA384:
    case C.TPM_ALG_SHA3_384:
      return 48;
    case C.TPM_ALG_SHA512:
    case C.TPM_ALG_SHA3_512:
      return 64;
    default:
      return undefined;
  }
}

/** Node crypto hash name of a TPM hash algorithm (sha1, sha256, sha384, sha512), or undefined. */
export function nodeHashName(hashAlg: number): string | undefined {
  switch (hashAlg) {
    case C.TPM_ALG_SHA1:
      return 'sha1';
    case C.TPM_ALG_SHA256:
      return 'sha256';
    case C.TPM_ALG_SHA384:
      return 'sha384';
    case C.TPM_ALG_SHA512:
      return 'sha512';
    case C.TPM_ALG_SHA3_256:
      return 'sha3-256';
    case C.TPM_ALG_SHA3_384:
      return 'sha3-384';
    case C.TPM_ALG_SHA3_512:
      return 'sha3-512';
    default:
      return undefined;
  }
}
