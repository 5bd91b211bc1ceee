// TPM2_PCR_Read (Part 3 22.4) until every requested PCR is read, consistently.
import { hashInfo } from '../crypto/hash';
import { constantName } from '../marshal/names';
import { pcrSelection, selectedPcrs, type PcrValues, type TpmsPcrSelection } from '../types/pcr';
import { TPM2_PCR_Read } from './definitions';
import { execute, type CallOptions, type TpmSender } from './execute';

export interface PcrReadResult {
  /** Values by bank (in request order) and PCR index. */
  values: PcrValues;
  /** pcrUpdateCounter of the last read (PCRs changed between reads if it moved; the read is retried). */
  updateCounter: number;
}

/**
 * TPM2_PCR_Read until every requested PCR has been read (a TPM returns at most 8 digests per call). If the
 * PCRs change between calls (pcrUpdateCounter moves), the whole read starts over (a few times). A bank this
 * project does not compute is refused (TpmCryptoError UNSUPPORTED_ALGORITHM) before anything is sent.
 */
export async function pcrRead(
  tpm: TpmSender,
  selection: readonly TpmsPcrSelection[],
  o: CallOptions = {},
): Promise<PcrReadResult> {
  const bankNames = selection.map((s) => hashInfo(s.hash).name);
  for (let attempt = 0; attempt < 5; attempt++) {
    const pending = selection.map((s) => ({ hash: s.hash, pcrs: new Set(selectedPcrs(s)), size: s.pcrSelect.length }));
    const banks = selection.map((): Record<number, Uint8Array> => ({}));
    let counter: number | undefined;
    let restarted = false;
    for (let guard = 0; guard < 64 && pending.some((p) => p.pcrs.size); guard++) {
      const req = pending.filter((p) => p.pcrs.size).map((p) => pcrSelection(p.hash, p.pcrs, p.size));
      const r = await execute(tpm, TPM2_PCR_Read, { params: { pcrSelectionIn: req }, signal: o.signal });
      if (counter !== undefined && r.params.pcrUpdateCounter !== counter) {
        restarted = true;
        break;
      }
      counter = r.params.pcrUpdateCounter;
      const digests = r.params.pcrValues;
      let i = 0;
      for (const out of r.params.pcrSelectionOut) {
        const idx = pending.findIndex((p) => p.hash === out.hash);
        for (const pcr of selectedPcrs(out)) {
          if (i >= digests.length) throw new RangeError('TPM2_PCR_Read: fewer digests than selected PCRs');
          if (idx < 0 || !pending[idx].pcrs.has(pcr))
            throw new RangeError(`TPM2_PCR_Read: PCR ${pcr} returned but not requested`);
          banks[idx][pcr] = digests[i++];
          pending[idx].pcrs.delete(pcr);
        }
      }
      if (i !== digests.length) throw new RangeError('TPM2_PCR_Read: more digests than selected PCRs');
      if (i === 0) {
        const missing = pending
          .filter((p) => p.pcrs.size)
          .map((p) => `${constantName('TPM_ALG_', p.hash)}:${[...p.pcrs].join(',')}`);
        throw new RangeError(`TPM2_PCR_Read: PCRs not available: ${missing.join(' ')}`);
      }
    }
    if (!restarted)
      return { values: Object.fromEntries(bankNames.map((name, k) => [name, banks[k]])), updateCounter: counter ?? 0 };
  }
  throw new RangeError('TPM2_PCR_Read: PCRs kept changing while being read');
}
