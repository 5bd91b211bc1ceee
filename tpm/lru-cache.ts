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

/**
 * An LRU cache keyed by exact byte strings (a list of them: a certificate and its intermediates, a key's
 * fields). Lookups go by a 32-bit fingerprint of the lengths and 32 bytes sampled across each part, so a
 * certificate-sized key is neither hashed in full nor copied into a string; a hit still needs every byte
 * equal. Two inputs with one fingerprint share a slot: the later replaces the earlier (a miss, never a false
 * hit).
 */
export interface BytesCache<V> {
  get(parts: readonly Uint8Array[]): V | undefined;
  /** Keeps `value` for copies of `parts` (the caller's buffers are not retained). */
  set(parts: readonly Uint8Array[], value: V): void;
  readonly size: number;
}

const SAMPLES = 32;

// FNV-1a over each part's length and sampled bytes (evenly spaced, the last byte always included).
function fingerprint(parts: readonly Uint8Array[]): number {
  let h = 0x811c9dc5;
  const mix = (b: number) => {
    h = Math.imul(h ^ b, 0x01000193);
  };
  for (const p of parts) {
    const len = p.length;
    mix(len >>> 24);
    mix((len >>> 16) & 0xff);
    mix((len >>> 8) & 0xff);
    mix(len & 0xff);
    const n = Math.min(SAMPLES, len);
    for (let i = 1; i <= n; i++) mix(p[Math.ceil((i * len) / n) - 1]);
  }
  return h >>> 0;
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

/** Creates an empty BytesCache of at most `maxEntries` entries. */
export function createBytesCache<V>(maxEntries: number): BytesCache<V> {
  const lru = createLruCache<number, { parts: Uint8Array[]; value: V }>(maxEntries);
  return {
    get(parts) {
      const hit = lru.get(fingerprint(parts));
      return hit && hit.parts.length === parts.length && hit.parts.every((p, i) => equal(p, parts[i]))
        ? hit.value
        : undefined;
    },
    set(parts, value) {
      lru.set(fingerprint(parts), { parts: parts.map((p) => Uint8Array.from(p)), value });
    },
    get size() {
      return lru.size;
    },
  };
}
