// PCR selections and digest lists (TPM 2.0 Part 2 sections 10.6, 10.9).
import { list, sizedU8Bytes, struct, u16, type CodecType } from '../marshal/codec';
import * as C from '../marshal/constants';
import { Tpm2bDigest } from './basic';

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

/** Builds a TPMS_PCR_SELECTION for `pcrs` in `hash` bank; `sizeofSelect` defaults to 3 (24 PCRs). */
export function pcrSelection(hash: number, pcrs: readonly number[], sizeofSelect = 3): TpmsPcrSelection {
  const size = Math.max(sizeofSelect, ...pcrs.map((p) => Math.floor(p / 8) + 1));
  if (size > C.PCR_SELECT_MAX) throw new RangeError(`PCR index beyond ${C.PCR_SELECT_MAX * 8 - 1}`);
  const pcrSelect = new Uint8Array(size);
  for (const p of pcrs) {
    if (!Number.isInteger(p) || p < 0) throw new RangeError(`bad PCR index ${p}`);
    pcrSelect[p >> 3] |= 1 << (p & 7);
  }
  return { hash, pcrSelect };
}

/** The PCR indices selected by a TPMS_PCR_SELECTION, ascending (the order the TPM digests them). */
export function selectedPcrs(sel: TpmsPcrSelection): number[] {
  const out: number[] = [];
  for (let i = 0; i < sel.pcrSelect.length; i++) for (let b = 0; b < 8; b++) if (sel.pcrSelect[i] & (1 << b)) out.push(i * 8 + b);
  return out;
}
