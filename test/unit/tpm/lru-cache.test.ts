// The bounded LRU map under the server's verification caches.
import { createLruCache } from '../../../tpm/lru-cache';

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
