// The config reference table, generated from the field declarations so README/docs cannot drift.

import { HclValue } from '../hcl';
import { Fields } from './fields';

/** One row of the config reference: a key (dotted for nested blocks, `[]` for list items). */
export interface ConfigDocRow {
  key: string;
  type: string;
  required: boolean;
  /** The default as written in the config (HCL), or "" when there is none. */
  default: string;
  description: string;
}

/** Renders a raw value as HCL source: "rsa", [0, 7], true, { a = 1 }. */
export function formatHclValue(value: HclValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(formatHclValue).join(', ')}]`;
  const entries = Object.keys(value).map(
    (k) => `${/^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? k : JSON.stringify(k)} = ${formatHclValue(value[k])}`,
  );
  return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
}

/** Rows for every key in `fields`, depth first, in declaration order. */
export function configDocRows(fields: Fields, prefix = ''): ConfigDocRow[] {
  const rows: ConfigDocRow[] = [];
  for (const [name, field] of Object.entries(fields)) {
    const key = `${prefix}${name}`;
    const raw = field.rawDefault;
    rows.push({
      key,
      type: field.kind.docType,
      required: field.presence === 'required',
      default: raw === undefined ? '' : formatHclValue(raw),
      description: field.description,
    });
    if (field.kind.children) rows.push(...configDocRows(field.kind.children, `${key}.`));
    const itemChildren = field.kind.item?.kind.children;
    if (itemChildren) rows.push(...configDocRows(itemChildren, `${key}[].`));
  }
  return rows;
}

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A Markdown table: | Key | Type | Required | Default | Description |. */
export function renderConfigDocs(rows: ConfigDocRow[]): string {
  const lines = ['| Key | Type | Required | Default | Description |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const def = r.default === '' ? '' : `\`${r.default.replace(/`/g, "'")}\``;
    lines.push(
      `| \`${cell(r.key)}\` | ${cell(r.type)} | ${r.required ? 'yes' : 'no'} | ${cell(def)} | ${cell(r.description)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Replaces the text between `<!-- config:NAME:begin -->` and `<!-- config:NAME:end -->` in `doc` with
 * `table`. Throws when the markers are missing, so a renamed section fails loudly. A test can then
 * assert `replaceGeneratedSection(readme, name, table) === readme` to keep the README in sync.
 */
export function replaceGeneratedSection(doc: string, name: string, table: string): string {
  const begin = `<!-- config:${name}:begin -->`;
  const end = `<!-- config:${name}:end -->`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end, i + begin.length);
  if (i < 0 || j < 0) throw new Error(`markers ${begin} ... ${end} not found`);
  return `${doc.slice(0, i + begin.length)}\n${table}${doc.slice(j)}`;
}
