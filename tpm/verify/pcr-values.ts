// PCR values supplied beside a quote, by bank and index.
import { HashName, hashInfo, hashSize } from '../crypto/hash';
import { TpmVerifyError } from './errors';

/** PCR values by bank then index, e.g. `{ sha256: { 0: <32 bytes>, 16: <32 bytes> } }`. */
export type PcrValues = Partial<Record<HashName, Readonly<Record<number, Uint8Array>>>>;

/** Highest PCR index of a PC-client TPM (24 PCRs; 3-byte selects). */
export const MAX_PCR_INDEX = 23;

/** One bank of a TPML_PCR_SELECTION: hash algorithm ID and the select bitmap (bit i of byte i/8 = PCR i). */
export interface PcrSelection {
  hash: number;
  select: Uint8Array;
}

/** PCR indices set in a select bitmap, ascending (the order the TPM hashes them). */
export function selectedIndices(select: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < select.length * 8; i++) if (select[i >> 3] & (1 << (i & 7))) out.push(i);
  return out;
}

/** A select bitmap of `size` bytes (default 3) with `indices` set. */
export function selectBitmap(indices: Iterable<number>, size = 3): Uint8Array {
  const b = new Uint8Array(size);
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= size * 8)
      throw new TpmVerifyError('PCR_VALUES_MALFORMED', `PCR index ${i} does not fit a ${size}-byte selection`);
    b[i >> 3] |= 1 << (i & 7);
  }
  return b;
}

/** Checks every supplied value has its bank's digest size and an index in 0..23 (PCR_VALUES_MALFORMED). */
export function checkPcrValues(pcrs: PcrValues): void {
  for (const [bank, values] of Object.entries(pcrs)) {
    let size: number;
    try {
      size = hashSize(bank as HashName);
    } catch {
      throw new TpmVerifyError('PCR_VALUES_MALFORMED', `PCR bank ${bank} is not supported`);
    }
    for (const [k, v] of Object.entries(values ?? {})) {
      const index = Number(k);
      if (!Number.isInteger(index) || index < 0 || index > MAX_PCR_INDEX)
        throw new TpmVerifyError('PCR_VALUES_MALFORMED', `PCR ${bank}:${k} is not an index in 0..${MAX_PCR_INDEX}`);
      if (!(v instanceof Uint8Array) || v.length !== size)
        throw new TpmVerifyError('PCR_VALUES_MALFORMED', `PCR ${bank}:${index} has ${v?.length ?? 0} bytes, the ${bank} bank needs ${size}`);
    }
  }
}

/** Node hash name of a bank's TPM_ALG_ID, as a PCR error (PCR_VALUES_MALFORMED) when unknown. */
export function bankName(hash: number): HashName {
  try {
    return hashInfo(hash).name;
  } catch {
    throw new TpmVerifyError('PCR_VALUES_MALFORMED', `PCR bank 0x${hash.toString(16).padStart(4, '0')} is not supported`);
  }
}
