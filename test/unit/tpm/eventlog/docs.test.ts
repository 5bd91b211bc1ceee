// docs/event-log.md's bounds and selector tables are generated from the code. UPDATE_DOCS=1 rewrites them.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { replaceGeneratedSection } from '../../../../plugin-sdk/config';
import { renderBootSelectorTable, renderEventLogLimits } from '../../../../tpm/eventlog';

const file = resolve(__dirname, '../../../../docs/event-log.md');

test.each([
  ['eventlog-limits', renderEventLogLimits],
  ['eventlog-selectors', renderBootSelectorTable],
])('docs/event-log.md: the %s table is current', (name, render) => {
  const doc = readFileSync(file, 'utf8');
  const expected = replaceGeneratedSection(doc, name, render());
  if (process.env.UPDATE_DOCS === '1' && expected !== doc) writeFileSync(file, expected);
  else expect(doc).toBe(expected);
});
