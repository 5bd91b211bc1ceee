// The value tree every reader in this folder produces: what a Go plugin would see after decoding its
// hcl_configuration into generic maps and slices, minus null (never produced).

/** A configuration value: string, number, boolean, list or object. */
export type HclValue = string | number | boolean | HclValue[] | HclObject;

/** A configuration object. Keys keep their source order; `__proto__` is an ordinary own key. */
export interface HclObject {
  [key: string]: HclValue;
}

/** True for an HclObject (not a list). */
export function isHclObject(value: HclValue | undefined): value is HclObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own enumerable property, even for keys like `__proto__` that plain assignment would not. */
export function setOwn(target: HclObject, key: string, value: HclValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
