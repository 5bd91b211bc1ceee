// tpm2-tools' serialized PCR blob (`tpm2_quote -o FILE`, default `--pcrs_format=serialized`): the C structs
// written straight from memory, little-endian, with compiler padding. Keylime's quote string carries it.
//
// Layout (confirmed byte for byte against tpm2-tools 5.4 on swtpm, see test/fixtures/tpm/README.md):
//   TPML_PCR_SELECTION  u32 count (<= 16), then 16 slots of 8 bytes:
//                       u16 hash, u8 sizeofSelect (<= 4), u8 pcrSelect[4], u8 padding
//   u32 N               number of TPML_DIGEST that follow (<= 32)
//   N x TPML_DIGEST     u32 count (<= 8), then 8 slots of 66 bytes: u16 size (<= 64), u8 buffer[64]
// Values appear in selection order (banks in selection order, indices ascending), at most 8 per list.
import { PCR_SELECT_MAX } from '../marshal/constants';
import { bankName } from '../verify/pcr-values';
import { hashAlgId, HashName } from '../crypto/hash';
import { PCR_SELECT_SIZE, pcrSelection, selectedPcrs, type PcrValues, type TpmsPcrSelection } from '../types/pcr';
import { TpmVerifyError } from '../verify/errors';

const SELECTION_SLOTS = 16;
const SELECTION_SLOT_BYTES = 8;
const SELECTION_BYTES = 4 + SELECTION_SLOTS * SELECTION_SLOT_BYTES; // 132
const DIGEST_SLOTS = 8;
const DIGEST_BUFFER = 64;
const DIGEST_SLOT_BYTES = 2 + DIGEST_BUFFER; // 66
const DIGEST_LIST_BYTES = 4 + DIGEST_SLOTS * DIGEST_SLOT_BYTES; // 532
/** tpm2-tools' tpm2_pcrs holds at most TPM2_MAX_PCRS (32) digest lists. */
export const MAX_DIGEST_LISTS = 32;
/** Largest well-formed blob. */
export const MAX_PCR_BLOB_BYTES = SELECTION_BYTES + 4 + MAX_DIGEST_LISTS * DIGEST_LIST_BYTES;

/** A decoded PCR blob: the selection and every value in selection order. */
export interface PcrBlob {
  selections: TpmsPcrSelection[];
  /** Values in selection order, flattened across the TPML_DIGEST lists. */
  values: Uint8Array[];
}

function bad(message: string): TpmVerifyError {
  return new TpmVerifyError('KEYLIME_QUOTE_MALFORMED', `pcrblob: ${message}`);
}

/**
 * Parses a tpm2-tools serialized PCR blob (untrusted). Checks sizes and counts against the layout's bounds,
 * that the total length is exact, and that the number of values equals the number of selected PCRs. Padding
 * and unused slots are ignored. Does NOT check the values against any quote (see `pcrBlobToValues` +
 * `verifyQuote`). Throws TpmVerifyError KEYLIME_QUOTE_MALFORMED.
 */
export function parsePcrBlob(bytes: Uint8Array): PcrBlob {
  if (bytes.length < SELECTION_BYTES + 4)
    throw bad(`${bytes.length} bytes is shorter than the ${SELECTION_BYTES + 4}-byte header`);
  if (bytes.length > MAX_PCR_BLOB_BYTES) throw bad(`${bytes.length} bytes exceeds the maximum ${MAX_PCR_BLOB_BYTES}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (count > SELECTION_SLOTS) throw bad(`selection count ${count} exceeds ${SELECTION_SLOTS}`);
  const selections: TpmsPcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const o = 4 + i * SELECTION_SLOT_BYTES;
    const hash = view.getUint16(o, true);
    const size = bytes[o + 2];
    if (size > PCR_SELECT_MAX) throw bad(`selection ${i}: sizeofSelect ${size} exceeds ${PCR_SELECT_MAX}`);
    selections.push({ hash, pcrSelect: bytes.slice(o + 3, o + 3 + size) });
  }
  const lists = view.getUint32(SELECTION_BYTES, true);
  if (lists > MAX_DIGEST_LISTS) throw bad(`digest list count ${lists} exceeds ${MAX_DIGEST_LISTS}`);
  const expected = SELECTION_BYTES + 4 + lists * DIGEST_LIST_BYTES;
  if (bytes.length !== expected) throw bad(`${bytes.length} bytes, but ${lists} digest lists make ${expected}`);
  const values: Uint8Array[] = [];
  for (let l = 0; l < lists; l++) {
    const base = SELECTION_BYTES + 4 + l * DIGEST_LIST_BYTES;
    const n = view.getUint32(base, true);
    if (n > DIGEST_SLOTS) throw bad(`digest list ${l}: count ${n} exceeds ${DIGEST_SLOTS}`);
    for (let d = 0; d < n; d++) {
      const o = base + 4 + d * DIGEST_SLOT_BYTES;
      const size = view.getUint16(o, true);
      if (size > DIGEST_BUFFER) throw bad(`digest list ${l} value ${d}: size ${size} exceeds ${DIGEST_BUFFER}`);
      values.push(bytes.slice(o + 2, o + 2 + size));
    }
  }
  const selected = selections.reduce((s, x) => s + selectedPcrs(x).length, 0);
  if (values.length !== selected) throw bad(`${values.length} values for ${selected} selected PCRs`);
  return { selections, values };
}

/** Serializes a PCR blob exactly as tpm2-tools does (zeroed padding and unused slots). */
export function encodePcrBlob(blob: PcrBlob): Uint8Array {
  if (blob.selections.length > SELECTION_SLOTS)
    throw bad(`${blob.selections.length} selections exceeds ${SELECTION_SLOTS}`);
  const lists = Math.ceil(blob.values.length / DIGEST_SLOTS);
  if (lists > MAX_DIGEST_LISTS)
    throw bad(`${blob.values.length} values need more than ${MAX_DIGEST_LISTS} digest lists`);
  const out = new Uint8Array(SELECTION_BYTES + 4 + lists * DIGEST_LIST_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, blob.selections.length, true);
  blob.selections.forEach((s, i) => {
    if (s.pcrSelect.length > PCR_SELECT_MAX)
      throw bad(`selection ${i}: ${s.pcrSelect.length} select bytes exceeds ${PCR_SELECT_MAX}`);
    const o = 4 + i * SELECTION_SLOT_BYTES;
    view.setUint16(o, s.hash, true);
    out[o + 2] = s.pcrSelect.length;
    out.set(s.pcrSelect, o + 3);
  });
  view.setUint32(SELECTION_BYTES, lists, true);
  for (let l = 0; l < lists; l++) {
    const base = SELECTION_BYTES + 4 + l * DIGEST_LIST_BYTES;
    const chunk = blob.values.slice(l * DIGEST_SLOTS, (l + 1) * DIGEST_SLOTS);
    view.setUint32(base, chunk.length, true);
    chunk.forEach((v, d) => {
      if (v.length > DIGEST_BUFFER)
        throw bad(`value ${l * DIGEST_SLOTS + d}: ${v.length} bytes exceeds ${DIGEST_BUFFER}`);
      const o = base + 4 + d * DIGEST_SLOT_BYTES;
      view.setUint16(o, v.length, true);
      out.set(v, o + 2);
    });
  }
  return out;
}

/** The blob's values by bank and index (the form `verifyQuote` takes). Throws on a bank seen twice. */
export function pcrBlobToValues(blob: PcrBlob): PcrValues {
  const out: Partial<Record<HashName, Record<number, Uint8Array>>> = {};
  let next = 0;
  for (const s of blob.selections) {
    const bank = bankName(s.hash);
    if (out[bank]) throw bad(`bank ${bank} selected twice`);
    const values: Record<number, Uint8Array> = {};
    for (const i of selectedPcrs(s)) values[i] = blob.values[next++];
    out[bank] = values;
  }
  return out;
}

/** A blob for `pcrs`, banks in the given order (default: object order) and indices ascending. */
export function pcrBlobFromValues(pcrs: PcrValues, selectSize = PCR_SELECT_SIZE): PcrBlob {
  const selections: TpmsPcrSelection[] = [];
  const values: Uint8Array[] = [];
  for (const [bank, byIndex] of Object.entries(pcrs)) {
    const indices = Object.keys(byIndex ?? {})
      .map(Number)
      .sort((a, b) => a - b);
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= selectSize * 8)
        throw bad(`PCR ${bank}:${i} does not fit the selection`);
      values.push(byIndex![i]);
    }
    selections.push(pcrSelection(hashAlgId(bank as HashName), indices, selectSize));
  }
  return { selections, values };
}
