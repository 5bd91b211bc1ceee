// A bounded least-recently-used map: what the server's verification caches (key objects, EK certificate
// chains) are built on, so none of them grows with the number of distinct nodes it has seen.

/** A Map holding at most `maxEntries` values, dropping the least recently used one first. */
export interface LruCache<K, V> {
  /** The value for `key`, marked most recently used; undefined when absent. */
  get(key: K): V | undefined;
  /** Stores `value` as the most recently used, evicting the oldest entry when full. */
  set(key: K, value: V): void;
  delete(key: K): void;
  clear(): void;
  readonly size: number;
  readonly maxEntries: number;
}

/** Creates an empty LRU cache of at most `maxEntries` (a positive integer) entries. */
export function createLruCache<K, V>(maxEntries: number): LruCache<K, V> {
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new RangeError(`LRU cache size ${maxEntries} is not a positive integer`);
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const map = new Map<K, V>();
  return {
    get(key) {
      const value = map.get(key);
      if (value === undefined) return undefined;
      map.delete(key);
      map.set(key, value);
      return value;
    },
    set(key, value) {
      map.delete(key);
      map.set(key, value);
      if (map.size > maxEntries) map.delete(map.keys().next().value as K);
    },
    delete(key) {
      map.delete(key);
    },
    clear() {
      map.clear();
    },
    get size() {
      return map.size;
    },
    maxEntries,
  };
}
