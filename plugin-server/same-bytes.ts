// Comparing secrets and keys received from a node.
import { timingSafeEqual } from 'node:crypto';

/** True when `a` and `b` hold the same bytes: lengths compared openly, contents in constant time. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  // Lengths are public (the secret is always SECRET_BYTES, a key's DER length is not secret).
  return a.length === b.length && timingSafeEqual(a, b);
}
