// Loads the golden vectors of test/fixtures/tpm (made by its remake.sh on swtpm + tpm2-tools).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../../helpers/rng';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'tpm');

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

/** `count` inputs: random bytes, and mutations (bit flips, truncation, extension, byte runs) of `valid`. */
export function mutations(valid: Uint8Array, count: number, seed: number): Uint8Array[] {
  // the shared seeded PRNG, as 32-bit integers, so a failure reproduces from the seed
  const r = rng(seed);
  const next = () => Math.floor(r() * 2 ** 32);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const kind = next() % 5;
    if (kind === 0) {
      const b = new Uint8Array(next() % (valid.length * 2 + 1));
      for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
      out.push(b);
    } else if (kind === 1) {
      const b = Uint8Array.from(valid);
      const flips = 1 + (next() % 4);
      for (let j = 0; j < flips && b.length; j++) b[next() % b.length] ^= 1 << (next() % 8);
      out.push(b);
    } else if (kind === 2) {
      out.push(valid.slice(0, next() % (valid.length + 1)));
    } else if (kind === 3) {
      const extra = new Uint8Array(1 + (next() % 64));
      for (let j = 0; j < extra.length; j++) extra[j] = next() & 0xff;
      out.push(Uint8Array.from([...valid, ...extra]));
    } else {
      const b = Uint8Array.from(valid);
      const at = next() % Math.max(1, b.length);
      const len = 1 + (next() % 8);
      const v = [0x00, 0xff, 0x80, 0x7f][next() % 4];
      for (let j = at; j < Math.min(b.length, at + len); j++) b[j] = v;
      out.push(b);
    }
  }
  return out;
}
