// Fresh random bytes for nonces, secrets and seeds, drawn from a pool that one randomFillSync call fills:
// each randomFillSync call costs a native job object the garbage collector must finalise, and an attestation
// draws three times. A draw is copied out and its span of the pool zeroed at once, so no served value
// stays behind in the pool; bytes not yet served are as secret as the generator's own state.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
// Larger draws go to the generator directly: the pool serves the small, frequent ones.
const MAX_POOLED = 256;

const pool = new Uint8Array(POOL_BYTES);
let next = POOL_BYTES; // nothing served yet: the first draw fills the pool

/** `n` fresh cryptographically random bytes, in a new array the caller owns (and wipes when secret). */
export function randomBytesFresh(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`random draw of ${n} bytes`);
  if (n > MAX_POOLED) return randomFillSync(new Uint8Array(n));
  if (next + n > POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  const out = pool.slice(next, next + n);
  pool.fill(0, next, next + n);
  next += n;
  return out;
}
