// TPM2_GetCapability (Part 3 30.2) read to the end: a capability's answer can span pages (moreData).
import * as C from '../marshal/constants';
import type { TpmsPcrSelection, TpmsTaggedProperty } from '../types';
import { TPM2_GetCapability } from './definitions';
import { execute, type CallOptions, type TpmSender } from './execute';

// One page; the callers below loop over pages.
async function getCapability(
  tpm: TpmSender,
  capability: number,
  property: number,
  propertyCount: number,
  o: CallOptions,
) {
  return (await execute(tpm, TPM2_GetCapability, { params: { capability, property, propertyCount }, signal: o.signal }))
    .params;
}

/**
 * All handles of the type of `first` (e.g. HR_TRANSIENT, HR_PERSISTENT, HR_NV_INDEX). HR_LOADED_SESSION lists
 * every loaded session, HMAC (0x02..) and policy (0x03..) alike (Part 2 7.2); HR_SAVED_SESSION (0x03..)
 * lists context-saved sessions only.
 */
export async function getHandles(tpm: TpmSender, first: number, o: CallOptions = {}): Promise<number[]> {
  const type = first >>> 24;
  const accept = (h: number) =>
    (h >>> 24 === type || (type === C.TPM_HT_LOADED_SESSION && h >>> 24 === C.TPM_HT_POLICY_SESSION)) && h >= first;
  const out: number[] = [];
  let next = first;
  for (let page = 0; page < 64; page++) {
    const r = await getCapability(tpm, C.TPM_CAP_HANDLES, next, 254, o);
    const handles = (r.capabilityData.data as number[]).filter(accept);
    out.push(...handles);
    const last = handles[handles.length - 1];
    // Paging continues after the last handle only within the queried type (a loaded policy session's
    // handle lies in the saved-session range, which lists something else).
    if (!r.moreData || last === undefined || last >>> 24 !== type) break;
    next = last + 1;
  }
  return out;
}

/** TPM properties (TPM_CAP_TPM_PROPERTIES) from `first`, up to `count`. */
export async function getProperties(
  tpm: TpmSender,
  first: number,
  count: number,
  o: CallOptions = {},
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  let next = first;
  while (out.size < count) {
    const r = await getCapability(tpm, C.TPM_CAP_TPM_PROPERTIES, next, count - out.size, o);
    const props = r.capabilityData.data as TpmsTaggedProperty[];
    for (const p of props) out.set(p.property, p.value);
    if (!r.moreData || props.length === 0) break;
    next = props[props.length - 1].property + 1;
  }
  return out;
}

/** One TPM property value, or undefined if the TPM does not report it. */
export async function getProperty(tpm: TpmSender, property: number, o: CallOptions = {}): Promise<number | undefined> {
  const m = await getProperties(tpm, property, 1, o);
  return m.get(property);
}

/** Allocated PCR banks (TPM_CAP_PCRS). */
export async function getPcrBanks(tpm: TpmSender, o: CallOptions = {}): Promise<TpmsPcrSelection[]> {
  const r = await getCapability(tpm, C.TPM_CAP_PCRS, 0, 1, o);
  return r.capabilityData.data as TpmsPcrSelection[];
}
