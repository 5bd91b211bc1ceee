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
