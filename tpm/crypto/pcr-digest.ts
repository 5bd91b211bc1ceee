// The PCR composite digest a TPM2_Quote signs (TPMS_QUOTE_INFO.pcrDigest, Part 3 18.4): one function for
// the agent (checking a PCR read against its quote) and the server (verifying the values sent).
import { selectedPcrs, type PcrValues, type TpmsPcrSelection } from '../types/pcr';
import { digest, hashInfo, type HashName } from './hash';

/**
 * H_hash of the values of `selection`'s PCRs concatenated in selection order (banks as listed, indices
 * ascending), or undefined when `values` lacks one of them. A bank this project does not compute throws
 * (hashInfo's UNSUPPORTED_ALGORITHM).
 */
export function pcrCompositeDigest(
  hash: HashName,
  selection: readonly TpmsPcrSelection[],
  values: PcrValues,
): Uint8Array | undefined {
  const ordered: Uint8Array[] = [];
  for (const sel of selection) {
    const indices = selectedPcrs(sel);
    if (indices.length === 0) continue;
    const bank = values[hashInfo(sel.hash).name];
    for (const i of indices) {
      const v = bank?.[i];
      if (!v) return undefined;
      ordered.push(v);
    }
  }
  // One concatenation and a one-shot hash: cheaper than a streaming hash object on the server's hot path.
  return digest(hash, ordered.length === 1 ? ordered[0] : Buffer.concat(ordered));
}
