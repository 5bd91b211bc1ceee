// PCR selections, digest lists and values (TPM 2.0 Part 2 sections 10.6, 10.9): the one selection type,
// its bitmap helpers, the one PCR bound and the one shape of PCR values used from the TPM to the verifiers.
import { hashInfo, type HashName } from '../crypto/hash';
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

/** PCR values by bank then index, e.g. `{ sha256: { 0: <32 bytes>, 16: <32 bytes> } }`; banks in selection order. */
export type PcrValues = Partial<Record<HashName, Readonly<Record<number, Uint8Array>>>>;
