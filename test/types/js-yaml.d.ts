// js-yaml 3 ships no types; the tests use load() only.
declare module 'js-yaml' {
  export function load(text: string): unknown;
}
