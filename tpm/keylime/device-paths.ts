// What Keylime's measured-boot parser needs to read a log without crashing: Keylime 7.14.3 hands the device
// path of every image load event to libefivar with the length the event's own header claims
// (keylime/mba/elparsing/tpm_bootlog_enrich.py, enrich_device_path -> getDevicePath -> efidp_format_device_path),
// so a length past the event's bytes makes libefivar read out of bounds and the verifier worker dies (SIGSEGV,
// observed in test/swtpm/keylime-measured-boot.test.ts). The digests of such a log can replay perfectly: the
// replay does not read event data.
import type { EventLog, LogEvent } from '../eventlog';
import * as EV from '../eventlog/constants';

// UEFI_IMAGE_LOAD_EVENT (TCG PC Client PFP 10.2.3): ImageLocationInMemory, ImageLengthInMemory,
// ImageLinkTimeAddress, LengthOfDevicePath (UINT64 each), then the device path.
const IMAGE_LOAD_HEADER = 32;
// EFI_DEVICE_PATH_PROTOCOL (UEFI 10.2): Type, SubType, Length (UINT16, header included); End of Hardware
// Device Path type 0x7f, End Entire Device Path subtype 0xff.
const END_TYPE = 0x7f;
const END_ENTIRE = 0xff;

const IMAGE_LOAD_TYPES = new Set([
  EV.EV_EFI_BOOT_SERVICES_APPLICATION,
  EV.EV_EFI_BOOT_SERVICES_DRIVER,
  EV.EV_EFI_RUNTIME_SERVICES_DRIVER,
]);

/** Why the device path in `b` is not a well-formed node chain ending with End Entire, or undefined. */
function nodeChainProblem(b: Buffer): string | undefined {
  let at = 0;
  while (at < b.length) {
    if (b.length - at < 4) return `node at byte ${at} is truncated`;
    const length = b.readUInt16LE(at + 2);
    if (length < 4 || length > b.length - at) return `node at byte ${at} claims ${length} bytes`;
    if (b[at] === END_TYPE && b[at + 1] === END_ENTIRE)
      return at + length === b.length ? undefined : `${b.length - at - length} bytes follow the end node`;
    at += length;
  }
  return 'no End Entire Device Path node';
}

function imageLoadProblem(e: LogEvent): string | undefined {
  const b = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
  if (b.length < IMAGE_LOAD_HEADER) return `UEFI_IMAGE_LOAD_EVENT of ${b.length} bytes is truncated`;
  const claimed = b.readBigUInt64LE(24);
  const present = b.length - IMAGE_LOAD_HEADER;
  if (claimed !== BigInt(present))
    return `LengthOfDevicePath ${claimed} but the event holds ${present} bytes of device path`;
  const problem = nodeChainProblem(b.subarray(IMAGE_LOAD_HEADER));
  return problem && `device path: ${problem}`;
}

/**
 * The first event whose device path Keylime's parser would read out of bounds, as "event N (TYPE, PCR p):
 * why", or undefined. Checks image load events (boot services applications and drivers, runtime drivers):
 * LengthOfDevicePath equals the bytes present, and they are a well-formed node chain ending with End Entire.
 * Does NOT check Boot#### variables (Keylime hands libefivar their real remaining length) or what the nodes
 * mean (libefivar formats unknown node types as raw hex).
 */
export function keylimeUnreadableDevicePath(log: EventLog): string | undefined {
  for (const e of log.events) {
    const problem = IMAGE_LOAD_TYPES.has(e.type) ? imageLoadProblem(e) : undefined;
    if (problem) return `event ${e.index} (${e.typeName}, PCR ${e.pcr}): ${problem}`;
  }
  return undefined;
}
