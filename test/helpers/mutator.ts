// A seeded byte mutator for fuzzing decoders: one to four stacked edits of a seed input (bit flips, boundary
// bytes and size-like u16/u32 values, truncation, inserted or deleted runs, duplicated slices, splices with
// another input of the pool). Reproducible from its seed (test/helpers/rng.ts).
import { rng } from './rng';

export type Mutate = (input: Uint8Array, pool?: readonly Uint8Array[]) => Uint8Array;

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff];
const INTERESTING_U16 = [0x0000, 0x0001, 0x7fff, 0x8000, 0xffff];
const INTERESTING_U32 = [0x00000000, 0x7fffffff, 0x80000000, 0xffffffff];

/** A mutator drawing from `seed`; outputs are at most `maxBytes` long. */
export function byteMutator(seed: number, maxBytes = 1 << 16): Mutate {
  const random = rng(seed);
  const below = (n: number): number => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[below(list.length)];
  const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => below(256));

  function once(b: Uint8Array, pool: readonly Uint8Array[]): Uint8Array {
    const at = (): number => below(b.length + 1);
    switch (below(9)) {
      case 0: {
        const c = Uint8Array.from(b);
        for (let k = 0, n = 1 + below(8); k < n && c.length; k++) c[below(c.length)] ^= 1 << below(8);
        return c;
      }
      case 1: {
        const c = Uint8Array.from(b);
        if (c.length) c[below(c.length)] = pick(INTERESTING_BYTES);
        return c;
      }
      case 2: {
        // A length or count field: TPM2B sizes, list counts and DER lengths are big-endian.
        const c = Uint8Array.from(b);
        if (c.length >= 2) {
          const o = below(c.length - 1);
          const v = random() < 0.5 ? pick(INTERESTING_U16) : (c.length - o + below(5) - 2) & 0xffff;
          c[o] = v >> 8;
          c[o + 1] = v & 0xff;
        }
        return c;
      }
      case 3: {
        const c = Uint8Array.from(b);
        if (c.length >= 4) new DataView(c.buffer).setUint32(below(c.length - 3), pick(INTERESTING_U32));
        return c;
      }
      case 4:
        return b.slice(0, at());
      case 5: {
        const o = at();
        return concat(b.subarray(0, o), randomBytes(1 + below(32)), b.subarray(o));
      }
      case 6: {
        const o = at();
        return concat(b.subarray(0, o), b.subarray(Math.min(b.length, o + 1 + below(16))));
      }
      case 7: {
        const from = at();
        const to = from + below(b.length - from + 1);
        const o = at();
        return concat(b.subarray(0, o), b.subarray(from, to), b.subarray(o));
      }
      default: {
        const other = pool.length ? pick(pool) : b;
        return concat(b.subarray(0, at()), other.subarray(below(other.length + 1)));
      }
    }
  }

  return (input, pool = []) => {
    let out = input;
    for (let k = 0, n = 1 + below(4); k < n; k++) out = once(out, pool);
    return out.length > maxBytes ? out.subarray(0, maxBytes) : out;
  };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
