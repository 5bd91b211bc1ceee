// The one error-collecting builder Configure and Validate share: (trust domain, HCL text) -> parsed
// config or notes. Every problem found is reported at once, each note naming its key path.

import { HclParseError, detectSyntax, parseConfigText } from '../hcl';
import { ConfigDocRow, configDocRows, renderConfigDocs } from './docs';
import { Fields, INVALID, InferConfig, readObject } from './fields';
import { trustDomainProblem } from './trust-domain';

/** Most notes one build reports; the rest are summarised in a last note. */
export const MAX_NOTES = 50;

export type ConfigBuildResult<T> = { ok: true; config: T; trustDomain: string } | { ok: false; notes: string[] };

export interface DefineConfigOptions<T> {
  /**
   * Checks across keys, run only when every key parsed: return notes that name the keys involved
   * (e.g. `key "ca_path": required when ek_verification = "chain"`), or nothing.
   */
  check?: (config: T, trustDomain: string) => string[] | undefined | void;
}

export interface ConfigDefinition<F extends Fields> {
  readonly fields: F;
  /**
   * Parses and validates: trust domain first, then the text (HCL v1, or JSON when it starts with "{";
   * "" means every default), unknown keys, each key, then the cross-key check. Never throws for bad
   * input; `config` is deeply frozen.
   */
  readonly build: (trustDomain: string, hclText: string) => ConfigBuildResult<InferConfig<F>>;
  /** The reference rows (key, type, required, default, description) for docs. */
  readonly docRows: () => ConfigDocRow[];
  /** The reference as a Markdown table. */
  readonly docsMarkdown: () => string;
}

/** The parsed config type of a definition: `type ServerConfig = ConfigOf<typeof serverConfig>`. */
export type ConfigOf<D> = D extends ConfigDefinition<infer F> ? InferConfig<F> : never;

function capped(notes: string[]): string[] {
  if (notes.length <= MAX_NOTES) return notes;
  return [...notes.slice(0, MAX_NOTES), `... and ${notes.length - MAX_NOTES} more problems`];
}

/**
 * Declares a plugin's config once. Throws at declaration time for programming errors (a bad default);
 * everything about user input comes back as notes from `build`.
 *
 * @example
 * const serverConfig = defineConfig({
 *   ek_algorithm: enumOf(['rsa', 'ecc']).default('rsa').describe('EK to use'),
 *   pcrs: list(int({ min: 0, max: 23 }), { unique: true }).default([0, 7]),
 * });
 * const r = serverConfig.build('example.org', hclText);
 * if (!r.ok) throw new Error(r.notes.join('; '));
 */
export function defineConfig<F extends Fields>(
  fields: F,
  options: DefineConfigOptions<InferConfig<F>> = {},
): ConfigDefinition<F> {
  const build = (trustDomain: string, hclText: string): ConfigBuildResult<InferConfig<F>> => {
    const notes: string[] = [];
    const tdProblem = typeof trustDomain === 'string' ? trustDomainProblem(trustDomain) : 'expected a string';
    if (tdProblem !== undefined) notes.push(`trust domain: ${tdProblem}`);
    let raw;
    try {
      raw = parseConfigText(typeof hclText === 'string' ? hclText : String(hclText ?? ''));
    } catch (err) {
      if (!(err instanceof HclParseError)) throw err;
      const syntax = detectSyntax(String(hclText)) === 'json' ? 'JSON' : 'HCL';
      notes.push(`configuration is not valid ${syntax}: ${err.message}`);
      return { ok: false, notes: capped(notes) };
    }
    const config = readObject(fields, raw, '', notes);
    if (config === INVALID || notes.length > 0) return { ok: false, notes: capped(notes) };
    const extra = options.check?.(config, trustDomain) ?? [];
    if (extra.length > 0) return { ok: false, notes: capped([...extra]) };
    return { ok: true, config, trustDomain };
  };
  return Object.freeze({
    fields,
    build,
    docRows: () => configDocRows(fields),
    docsMarkdown: () => renderConfigDocs(configDocRows(fields)),
  });
}
