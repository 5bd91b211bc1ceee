// The bounded LRU map under the server's verification caches.
import { createBytesCache, createLruCache } from '../../../tpm/lru-cache';

describe('LRU cache', () => {
  test('holds at most maxEntries, evicting the least recently used (a get counts as use)', () => {
    const c = createLruCache<string, number>(3);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('a')).toBe(1); // b is now the oldest
    c.set('d', 4);
    expect(c.size).toBe(3);
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('d')]).toEqual([1, 3, 4]);
  });

  test('set replaces a value and refreshes it; delete and clear remove', () => {
    const c = createLruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.set('a', 10); // b is now the oldest
    c.set('c', 3);
    expect([c.get('a'), c.get('b'), c.get('c')]).toEqual([10, undefined, 3]);
    c.delete('a');
    expect(c.size).toBe(1);
    c.clear();
    expect(c.size).toBe(0);
  });

  test.each([0, -1, 1.5, NaN])('size %p is refused', (n) => {
    expect(() => createLruCache(n)).toThrow(`LRU cache size ${n} is not a positive integer`);
  });
});

describe('bytes cache', () => {
  test('a hit needs every byte equal, even where the fingerprint samples none', () => {
    const c = createBytesCache<string>(4);
    const a = new Uint8Array(1000).map((_, i) => i & 0xff);
    c.set([a], 'a');
    expect(c.get([Uint8Array.from(a)])).toBe('a');
    // Byte 0 is not among the 32 sampled bytes of a 1000-byte part: same slot, different bytes.
    const b = Uint8Array.from(a);
    b[0] ^= 1;
    expect(c.get([b])).toBeUndefined();
    c.set([b], 'b'); // replaces a in the shared slot
    expect([c.get([a]), c.get([b]), c.size]).toEqual([undefined, 'b', 1]);
  });

  test('parts are compared one by one, and the caller may reuse its buffers', () => {
    const c = createBytesCache<number>(4);
    const x = Uint8Array.of(1, 2, 3);
    c.set([x, Uint8Array.of(4)], 1);
    x.fill(0);
    expect(c.get([Uint8Array.of(1, 2, 3), Uint8Array.of(4)])).toBe(1);
    expect(c.get([Uint8Array.of(1, 2), Uint8Array.of(3, 4)])).toBeUndefined();
    expect(c.get([Uint8Array.of(1, 2, 3, 4)])).toBeUndefined();
  });
});
