import { randomBytesFresh } from '../../../../tpm/crypto';

describe('randomBytesFresh', () => {
  it('returns new arrays of the asked length, each draw different, across pool refills', () => {
    const seen = new Set<string>();
    // 4096-byte pool: 400 draws of 32 bytes refill it several times.
    for (let i = 0; i < 400; i++) {
      const b = randomBytesFresh(32);
      expect(b).toBeInstanceOf(Uint8Array);
      expect(b.length).toBe(32);
      seen.add(Buffer.from(b).toString('hex'));
    }
    expect(seen.size).toBe(400);
  });

  it('hands out arrays of their own: wiping one leaves the next draw random', () => {
    const a = randomBytesFresh(48);
    const copy = Uint8Array.from(a);
    a.fill(0);
    const b = randomBytesFresh(48);
    expect(b.buffer).not.toBe(a.buffer);
    expect(b.some((x) => x !== 0)).toBe(true);
    expect(copy.some((x) => x !== 0)).toBe(true);
  });

  it('serves draws larger than the pooled size from the generator directly', () => {
    const big = randomBytesFresh(1000);
    expect(big.length).toBe(1000);
    expect(big.some((x) => x !== 0)).toBe(true);
    expect(randomBytesFresh(0).length).toBe(0);
  });

  it('refuses a negative or fractional size', () => {
    expect(() => randomBytesFresh(-1)).toThrow(RangeError);
    expect(() => randomBytesFresh(1.5)).toThrow(RangeError);
  });
});
