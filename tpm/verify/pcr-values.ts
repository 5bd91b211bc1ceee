// Checks of PCR values supplied beside a quote (the values' shape is tpm/types/pcr's PcrValues).
import { HashName, hashInfo, hashSize } from '../crypto/hash';
import { MAX_PCR_INDEX, type PcrValues } from '../types/pcr';
import { TpmVerifyError } from './errors';

/** Checks every supplied value has its bank's digest size and an index in 0..MAX_PCR_INDEX (PCR_VALUES_MALFORMED). */
export function checkPcrValues(pcrs: PcrValues): void {
  // for-in over own properties: no entry arrays per call (PcrValues are plain objects).
  for (const bank in pcrs) {
    if (!Object.hasOwn(pcrs, bank)) continue;
    const values = pcrs[bank as HashName];
    let size: number;
    try {
      size = hashSize(bank as HashName);
    } catch {
      throw new TpmVerifyError('PCR_VALUES_MALFORMED', `PCR bank ${bank} is not supported`);
    }
    for (const k in values) {
      if (!Object.hasOwn(values, k)) continue;
      const v = values[k as unknown as number];
      const index = Number(k);
      if (!Number.isInteger(index) || index < 0 || index > MAX_PCR_INDEX)
        throw new TpmVerifyError('PCR_VALUES_MALFORMED', `PCR ${bank}:${k} is not an index in 0..${MAX_PCR_INDEX}`);
      if (!(v instanceof Uint8Array) || v.length !== size)
        throw new TpmVerifyError(
          'PCR_VALUES_MALFORMED',
          `PCR ${bank}:${index} has ${v?.length ?? 0} bytes, the ${bank} bank needs ${size}`,
        );
    }
  }
}

/** Node hash name of a bank's TPM_ALG_ID, as a PCR error (PCR_VALUES_MALFORMED) when unknown. */
export function bankName(hash: number): HashName {
  try {
    return hashInfo(hash).name;
  } catch {
    throw new TpmVerifyError(
      'PCR_VALUES_MALFORMED',
      `PCR bank 0x${hash.toString(16).padStart(4, '0')} is not supported`,
    );
  }
}
