// PCR selections as operators write them (tpm2-tools style): "sha256:0,1,2,3" or "sha256:0-7+sha1:16".

import { custom, type Field } from '../plugin-sdk';
// Banks and the PCR bound are tpm/'s, the ones the protocol checks: a selection the config accepts is one the agent accepts.
import {
  HASH_NAMES,
  hashAlgId,
  hashInfo,
  type HashName,
  isHashName,
  MAX_PCR_INDEX,
  pcrSelection,
  type TpmsPcrSelection,
} from '../tpm';

/** The default: sha256 PCRs 0-7 (firmware and boot loader measurements). */
export const DEFAULT_PCR_SELECTION = 'sha256:0,1,2,3,4,5,6,7';

/**
 * Parses one selection string: banks joined by "+", each `<bank>:<pcr list>`, the list made of
 * indices and ranges joined by "," (e.g. "sha256:0-7,16+sha1:16"). Returns the banks in the order
 * written (one TPMS_PCR_SELECTION each), or a problem text (what was expected and what was found).
 */
export function parsePcrSelection(text: string): TpmsPcrSelection[] | string {
  const out: TpmsPcrSelection[] = [];
  const banks = new Set<HashName>();
  if (text.trim() === '') return 'expected a selection like "sha256:0,1,2", got ""';
  for (const part of text.split('+')) {
    const m = /^\s*([a-z0-9]+)\s*:\s*([0-9,\-\s]+)$/.exec(part);
    if (!m) return `expected "<bank>:<pcrs>" like "sha256:0-7", got ${JSON.stringify(part.slice(0, 40))}`;
    const bank = m[1];
    if (!isHashName(bank)) return `unknown PCR bank ${JSON.stringify(bank)} (expected one of ${HASH_NAMES.join(', ')})`;
    if (banks.has(bank)) return `PCR bank ${bank} is selected twice`;
    banks.add(bank);
    const pcrs = new Set<number>();
    for (const item of m[2].split(',')) {
      const r = /^\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?$/.exec(item);
      if (!r) return `${bank}: expected PCR indices or ranges like "0-7", got ${JSON.stringify(item.slice(0, 20))}`;
      const lo = Number(r[1]);
      const hi = r[2] === undefined ? lo : Number(r[2]);
      if (lo > MAX_PCR_INDEX || hi > MAX_PCR_INDEX)
        return `${bank}: PCR index ${Math.max(lo, hi)} is beyond ${MAX_PCR_INDEX}`;
      if (hi < lo) return `${bank}: range ${lo}-${hi} runs backwards`;
      for (let i = lo; i <= hi; i++) {
        if (pcrs.has(i)) return `${bank}: PCR ${i} is selected twice`;
        pcrs.add(i);
      }
    }
    out.push(pcrSelection(hashAlgId(bank), pcrs));
  }
  return out;
}

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
