// A whole NV index read in chunks (TPM2_NV_ReadPublic for its size, then TPM2_NV_Read; Part 3 31.6, 31.13).
import * as C from '../marshal/constants';
import { getProperty } from './capability';
import { TPM2_NV_Read, TPM2_NV_ReadPublic } from './definitions';
import { execute, type CallOptions, type TpmSender } from './execute';

/**
 * Reads a whole NV index in chunks of at most `chunkSize` (TPM_PT_NV_BUFFER_MAX, asked of the TPM when not
 * given). Authorizes with the index itself when TPMA_NV_AUTHREAD is set, else the owner; empty password.
 */
export async function nvReadAll(
  tpm: TpmSender,
  index: number,
  o: CallOptions & { chunkSize?: number; maxSize?: number } = {},
): Promise<Uint8Array> {
  const pub = (await execute(tpm, TPM2_NV_ReadPublic, { handles: { nvIndex: index }, params: {}, signal: o.signal }))
    .params.nvPublic.value;
  const size = pub.dataSize;
  if (o.maxSize !== undefined && size > o.maxSize)
    throw new RangeError(`NV index 0x${index.toString(16)}: ${size} bytes exceeds ${o.maxSize}`);
  const chunk = o.chunkSize ?? (await getProperty(tpm, C.TPM_PT_NV_BUFFER_MAX, o)) ?? 512;
  if (chunk <= 0) throw new RangeError('NV chunk size must be positive');
  const authHandle = pub.attributes & C.TPMA_NV_AUTHREAD ? index : C.TPM_RH_OWNER;
  const out = new Uint8Array(size);
  for (let off = 0; off < size;) {
    const n = Math.min(chunk, size - off);
    const r = await execute(tpm, TPM2_NV_Read, {
      handles: { authHandle, nvIndex: index },
      params: { size: n, offset: off },
      signal: o.signal,
    });
    if (r.params.data.length !== n)
      throw new RangeError(`NV index 0x${index.toString(16)}: asked ${n} bytes at ${off}, got ${r.params.data.length}`);
    out.set(r.params.data, off);
    off += n;
  }
  return out;
}
