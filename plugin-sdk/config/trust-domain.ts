// SPIFFE trust domain names as SPIRE passes them in CoreConfiguration (e.g. "example.org").

/** Returns why `name` is not a valid SPIFFE trust domain name, or undefined when it is. */
export function trustDomainProblem(name: string): string | undefined {
  if (name === '') return 'expected a trust domain name (like "example.org"), got ""';
  if (name.length > 255) return `expected at most 255 characters, got ${name.length}`;
  if (!/^[a-z0-9._-]+$/.test(name)) {
    return `expected only lowercase letters, digits, ".", "-" and "_", got ${JSON.stringify(name.slice(0, 64))}`;
  }
  return undefined;
}
