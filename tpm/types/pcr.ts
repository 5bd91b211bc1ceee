// PCR selections, digest lists and values (TPM 2.0 Part 2 sections 10.6, 10.9): the one selection type,
// its bitmap helpers, the one PCR bound and the one shape of PCR values used from the TPM to the verifiers.
import { HASH_NAMES, hashAlgId, hashInfo, isHashName, type HashName } from '../crypto/hash';
import { list, sizedU8Bytes, struct, u16, type CodecType } from '../marshal/codec';
import * as C from '../marshal/constants';
import { Tpm2bDigest } from './basic';

/** Highest PCR index of a PC-client TPM (24 PCRs, so 3-byte select bitmaps): the bound every PCR check applies. */
export const MAX_PCR_INDEX = 23;
/** sizeofSelect of a selection built here: enough bytes for PCRs 0..MAX_PCR_INDEX. */
export const PCR_SELECT_SIZE = (MAX_PCR_INDEX + 1) / 8;

/** 10.6.2 TPMS_PCR_SELECTION: a hash bank and a bitmap of PCRs (bit n of byte n/8 selects PCR n). */
export const TpmsPcrSelection = struct({
  hash: u16,
  pcrSelect: sizedU8Bytes(C.PCR_SELECT_MAX),
});
export type TpmsPcrSelection = CodecType<typeof TpmsPcrSelection>;

/** 10.9.7 TPML_PCR_SELECTION */
export const TpmlPcrSelection = list(TpmsPcrSelection, C.HASH_COUNT);
export type TpmlPcrSelection = CodecType<typeof TpmlPcrSelection>;

/** 10.9.6 TPML_DIGEST (at most 8 digests) */
export const TpmlDigest = list(Tpm2bDigest, 8);
export type TpmlDigest = CodecType<typeof TpmlDigest>;

/**
 * Builds a TPMS_PCR_SELECTION for `pcrs` in the `hash` bank. The bitmap has `sizeofSelect` bytes (default
 * PCR_SELECT_SIZE), more when a PCR needs them, at most PCR_SELECT_MAX; RangeError for an index that is not
 * a non-negative integer or does not fit.
 */
export function pcrSelection(hash: number, pcrs: Iterable<number>, sizeofSelect = PCR_SELECT_SIZE): TpmsPcrSelection {
  const indices = [...pcrs];
  const size = Math.max(sizeofSelect, ...indices.map((p) => Math.floor(p / 8) + 1));
  if (size > C.PCR_SELECT_MAX) throw new RangeError(`PCR index beyond ${C.PCR_SELECT_MAX * 8 - 1}`);
  const pcrSelect = new Uint8Array(size);
  for (const p of indices) {
    if (!Number.isInteger(p) || p < 0) throw new RangeError(`bad PCR index ${p}`);
    pcrSelect[p >> 3] |= 1 << (p & 7);
  }
  return { hash, pcrSelect };
}

/** The PCR indices selected by a TPMS_PCR_SELECTION, ascending (the order the TPM digests them). */
export function selectedPcrs(sel: TpmsPcrSelection): number[] {
  const out: number[] = [];
  for (let i = 0; i < sel.pcrSelect.length * 8; i++) if (sel.pcrSelect[i >> 3] & (1 << (i & 7))) out.push(i);
  return out;
}

/** A selection in tpm2-tools' syntax, banks in order: "sha256:0,1,2+sha1:16" (an unsupported bank by its ID). */
export function formatPcrSelection(selection: readonly TpmsPcrSelection[]): string {
  const bank = (hash: number) => {
    try {
      return hashInfo(hash).name;
    } catch {
      return `0x${hash.toString(16).padStart(4, '0')}`;
    }
  };
  return selection.map((s) => `${bank(s.hash)}:${selectedPcrs(s).join(',')}`).join('+');
}

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

/** PCR values by bank then index, e.g. `{ sha256: { 0: <32 bytes>, 16: <32 bytes> } }`; banks in selection order. */
export type PcrValues = Partial<Record<HashName, Readonly<Record<number, Uint8Array>>>>;
