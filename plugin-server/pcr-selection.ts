// PCR selections as operators write them (tpm2-tools style): "sha256:0,1,2,3" or "sha256:0-7+sha1:16".

import { custom, type Field } from '../plugin-sdk';
// The parser is tpm/'s (one syntax for this config and the tpm-quote CLI), with its banks and PCR bound: a
// selection the config accepts is one the agent accepts.
import { hashInfo, parsePcrSelection, type TpmsPcrSelection } from '../tpm';

export { DEFAULT_PCR_SELECTION, parsePcrSelection } from '../tpm';

function mergeSelections(
  parts: Array<{ text: string; path: string }>,
  note: (problem: string, at?: string) => void,
): TpmsPcrSelection[] | undefined {
  const merged: TpmsPcrSelection[] = [];
  let ok = true;
  for (const { text, path } of parts) {
    const parsed = parsePcrSelection(text);
    if (typeof parsed === 'string') {
      note(parsed, path);
      ok = false;
      continue;
    }
    for (const s of parsed) {
      if (merged.some((m) => m.hash === s.hash)) {
        note(`PCR bank ${hashInfo(s.hash).name} is selected twice`);
        ok = false;
      } else merged.push(s);
    }
  }
  return ok ? merged : undefined;
}

/**
 * Config field: a PCR selection string ("sha256:0-7") or a list of them (["sha256:0-7", "sha1:16"]).
 * Parses to one TPMS_PCR_SELECTION per bank.
 */
export function pcrSelectionField(): Field<readonly TpmsPcrSelection[], string | string[]> {
  const expected = 'a PCR selection like "sha256:0,1,2,3,4,5,6,7" (banks joined by "+"), or a list of them';
  return custom<readonly TpmsPcrSelection[], string | string[]>({
    docType: 'PCR selection (string or list of strings)',
    expected,
    expectedPlural: 'PCR selections',
    read(raw, { path, note }) {
      const parts: Array<{ text: string; path: string }> = [];
      if (typeof raw === 'string') parts.push({ text: raw, path });
      else if (Array.isArray(raw) && raw.length > 0 && raw.every((r) => typeof r === 'string')) {
        raw.forEach((r, i) => parts.push({ text: r as string, path: `${path}[${i}]` }));
      } else {
        note(
          `expected ${expected}, got ${Array.isArray(raw) ? (raw.length === 0 ? 'an empty list' : 'a list with non-strings') : typeof raw}`,
        );
        return undefined;
      }
      const merged = mergeSelections(parts, note);
      return merged ? Object.freeze(merged) : undefined;
    },
  });
}
