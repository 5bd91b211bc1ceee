// The config and selector tables in docs/ and README are generated from the schemas and selector code.
// Run with UPDATE_DOCS=1 to rewrite them.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { replaceGeneratedSection } from '../../../plugin-sdk/config';
import { serverConfigSchema } from '../../../plugin-server/config';
import { agentConfigSchema } from '../../../plugin-agent/config';
import { renderSelectorTable } from '../../../plugin-server/selectors';

const ROOT = resolve(__dirname, '../../..');
const sections: Record<string, () => string> = {
  server: () => serverConfigSchema.docsMarkdown(),
  agent: () => agentConfigSchema.docsMarkdown(),
  selectors: () => renderSelectorTable(),
};
const files: Array<[string, string[]]> = [
  ['docs/plugin-server.md', ['server', 'selectors']],
  ['docs/plugin-agent.md', ['agent']],
  ['README.md', ['server', 'agent', 'selectors']],
];

describe.each(files)('%s', (file, names) => {
  test.each(names)('the %s table is current', (name) => {
    const path = resolve(ROOT, file);
    const doc = readFileSync(path, 'utf8');
    const expected = replaceGeneratedSection(doc, name, sections[name]());
    if (process.env.UPDATE_DOCS === '1' && expected !== doc) writeFileSync(path, expected);
    else expect(doc).toBe(expected);
  });
});
