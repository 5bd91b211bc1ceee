// Reads the hcl_configuration SPIRE hands a plugin: HCL v1 text re-printed from `plugin_data { ... }`,
// or a plugin_data_file verbatim (HCL, or JSON when its first non-space character is "{", the rule
// HCL v1 itself uses).

import { Buffer } from 'node:buffer';
import { HclParseError } from './errors';
import { parseHclNative } from './parse-hcl-native';
import { parseJsonDocument } from './parse-json';
import { HclObject } from './value';

export { HclParseError } from './errors';
export { isHclObject } from './value';
export type { HclObject, HclValue } from './value';

/** Default bounds: 1 MiB of UTF-8 text and 64 levels of nested objects and lists. */
export const DEFAULT_HCL_LIMITS = Object.freeze({ maxBytes: 1 << 20, maxDepth: 64 });

export type ConfigSyntax = 'hcl' | 'json';

export interface ParseConfigOptions {
  /** Force a syntax; by default JSON when the first non-space character is "{", else HCL. */
  syntax?: ConfigSyntax;
  /** Largest accepted input in UTF-8 bytes (default 1 MiB). */
  maxBytes?: number;
  /** Deepest accepted nesting of objects and lists (default 64). */
  maxDepth?: number;
}

/** Which syntax `parseConfigText` will read `text` as: JSON when it starts (after whitespace) with "{". */
export function detectSyntax(text: string): ConfigSyntax {
  const m = /^[\ufeff \t\r\n]*(.)/s.exec(text);
  return m && m[1] === '{' ? 'json' : 'hcl';
}

/**
 * Parses configuration text (HCL v1 or JSON) into a plain value tree. Empty or comment-only text gives
 * `{}`. Throws only HclParseError, whose message starts with `line:column:` and says what was expected;
 * input over `maxBytes` or nested deeper than `maxDepth` is refused the same way.
 */
export function parseConfigText(text: string, options: ParseConfigOptions = {}): HclObject {
  const maxBytes = options.maxBytes ?? DEFAULT_HCL_LIMITS.maxBytes;
  const maxDepth = options.maxDepth ?? DEFAULT_HCL_LIMITS.maxDepth;
  if (typeof text !== 'string') throw new HclParseError('expected configuration text (a string)', 1, 1);
  // UTF-16 length bounds the UTF-8 size from below, so only count bytes when it could matter.
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new HclParseError(
      `configuration is ${Buffer.byteLength(text, 'utf8')} bytes, expected at most ${maxBytes}`,
      1,
      1,
    );
  }
  const syntax = options.syntax ?? detectSyntax(text);
  return syntax === 'json' ? parseJsonDocument(text, { maxDepth }) : parseHclNative(text, { maxDepth });
}
