// UEFI pieces the facts read: EFI_GUID text form and the variable GUIDs of Secure Boot (UEFI 2.10, 3.3 and 32.6).
import { unmarshal } from '../marshal/codec';
import { EventLogError } from './errors';
import type { LogEvent } from './parse';
import { UefiVariableData } from './structures';

/** EFI_GLOBAL_VARIABLE: SecureBoot, PK, KEK, ... */
export const EFI_GLOBAL_VARIABLE = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
/** EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx, dbt, dbr. */
export const EFI_IMAGE_SECURITY_DATABASE = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';

/** EFI_GUID bytes (first three fields little-endian) in the usual 8-4-4-4-12 text form. */
export function guidString(b: Uint8Array): string {
  const h = (from: number, to: number, reverse: boolean): string => {
    const part = Array.from(b.subarray(from, to));
    return Buffer.from(reverse ? part.reverse() : part).toString('hex');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`;
}

/** The UEFI_VARIABLE_DATA of an EV_EFI_VARIABLE_* event (trailing bytes refused unless `allowTrailing`); EVENT_LOG_MALFORMED names the event when it does not decode. */
export function variableOf(
  e: LogEvent,
  options: { allowTrailing?: boolean } = {},
): UefiVariableData & { guid: string } {
  try {
    const v = unmarshal(UefiVariableData, e.data, options);
    return { ...v, guid: guidString(v.variableName) };
  } catch (err) {
    throw new EventLogError(
      'EVENT_LOG_MALFORMED',
      `event ${e.index} (${e.typeName}, PCR ${e.pcr}): UEFI_VARIABLE_DATA: ${(err as Error).message}`,
      { eventIndex: e.index, pcr: e.pcr },
      { cause: err },
    );
  }
}
