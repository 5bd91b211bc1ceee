// Plugin config: declare the keys once (types, defaults, checks, descriptions); get the parsed type,
// the one builder Configure and Validate share, and the docs table from that declaration.

export { defineConfig, MAX_NOTES } from './define-config';
export type { ConfigDefinition, ConfigOf, ConfigBuildResult, DefineConfigOptions } from './define-config';
export { bool, custom, duration, enumOf, int, list, object, string, describeRaw } from './fields';
export type {
  AnyField,
  CustomFieldOptions,
  CustomReadContext,
  DurationOptions,
  Field,
  Fields,
  InferConfig,
  InferField,
  IntOptions,
  ListOptions,
  Presence,
  StringOptions,
} from './fields';
export { configDocRows, formatHclValue, renderConfigDocs, replaceGeneratedSection } from './docs';
export type { ConfigDocRow } from './docs';
export { formatDurationMs, parseGoDuration } from './duration';
export { trustDomainProblem } from './trust-domain';
