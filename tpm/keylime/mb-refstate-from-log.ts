// A Keylime measured-boot reference state (the `example` policy's mb_refstate) allowing exactly the boot a TCG
// event log records: the same keys Keylime's `keylime-policy create measured-boot` writes, read from our parse.
import { EventLogError, type EventLog, type LogEvent } from '../eventlog';
import * as EV from '../eventlog/constants';
import { guidString, variableOf } from '../eventlog/uefi';
import type { KeylimeMbRefstate, MbDigest, MbKernel, MbSignature } from './mb-refstate';

// PIWG firmware volume device path node (UEFI PI spec, MEDIA_DEVICE_PATH subtype 7): an application the
// firmware itself ships (boot menu, shell), for which no reference digest exists; Keylime skips these too.
const MEDIA_DEVICE_PATH = 0x04;
const MEDIA_PIWG_FW_VOL = 0x07;
// UEFI_IMAGE_LOAD_EVENT (TCG PC Client PFP 10.2.3): four UINT64s, the last the device path's length.
const IMAGE_LOAD_HEADER = 32;

// The characters Python's re.escape (3.7+) escapes: Keylime matches the command line as a Python regex.
const PY_REGEX_SPECIAL = /[()[\]{}?*+\-|^$\\.&~# \t\n\r\v\f]/g;

/** Thrown when the log lacks what the `example` policy needs to judge a boot. */
export class MbRefstateFromLogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MbRefstateFromLogError';
  }
}

const hex0x = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1').replace(/\0+$/, '');

function sha256Of(e: LogEvent): MbDigest {
  const d = e.digests.sha256;
  if (!d) throw new MbRefstateFromLogError(`event ${e.index} (${e.typeName}) has no sha256 digest`);
  return { sha256: hex0x(d) };
}

/** The entries of the EFI_SIGNATURE_LISTs (UEFI 32.4.1) in a Secure Boot variable's data. */
function signatures(e: LogEvent, data: Uint8Array): MbSignature[] {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: MbSignature[] = [];
  let at = 0;
  const bad = (why: string): never => {
    throw new EventLogError(
      'EVENT_LOG_MALFORMED',
      `event ${e.index} (${e.typeName}, PCR ${e.pcr}): EFI_SIGNATURE_LIST at byte ${at}: ${why}`,
      { eventIndex: e.index, pcr: e.pcr },
    );
  };
  while (at < b.length) {
    if (b.length - at < 28) bad('truncated header');
    const listSize = b.readUInt32LE(at + 16);
    const headerSize = b.readUInt32LE(at + 20);
    const size = b.readUInt32LE(at + 24);
    if (listSize < 28 || listSize > b.length - at) bad(`list size ${listSize} does not fit`);
    if (size < 16 || headerSize > listSize - 28 || (listSize - 28 - headerSize) % size !== 0)
      bad(`signature size ${size} does not divide the list`);
    for (let s = at + 28 + headerSize; s < at + listSize; s += size) {
      out.push({
        SignatureOwner: guidString(new Uint8Array(b.subarray(s, s + 16))),
        SignatureData: hex0x(b.subarray(s + 16, s + size)),
      });
    }
    at += listSize;
  }
  return out;
}

function firmwareApplication(e: LogEvent): boolean {
  const d = e.data;
  if (d.length < IMAGE_LOAD_HEADER + 2) return false;
  return d[IMAGE_LOAD_HEADER] === MEDIA_DEVICE_PATH && d[IMAGE_LOAD_HEADER + 1] === MEDIA_PIWG_FW_VOL;
}

/**
 * The reference state for `log` in the shape of Keylime 7.14.3's `keylime-policy create measured-boot`:
 * has_secureboot from the SecureBoot variable; scrtm_and_bios from the S-CRTM version and platform firmware
 * blobs; pk/kek/db/dbx from the last EV_EFI_VARIABLE_DRIVER_CONFIG of each (every EFI_SIGNATURE_LIST entry);
 * mokdig/mokxdig from shim's MokList/MokListX EV_IPL events; one kernel entry from the boot applications
 * (shim, grub, and with Secure Boot the kernel; firmware-volume applications skipped), grub's initrd (and
 * without Secure Boot its vmlinuz) in PCR 9 and the kernel command line in PCR 8 (Python-regex escaped). All
 * digests are the events' sha256 digests. `vendor_db` is left empty. Reads the log as given: replay it
 * against the PCRs first (tpm-quote boot-policy --tpm). Throws MbRefstateFromLogError when the log lacks
 * what the policy needs (no sha256 bank, S-CRTM, initrd or command line; not 2 boot applications, or 3-4 with
 * Secure Boot), EventLogError when a variable does not decode.
 */
export function keylimeMbRefstateFromLog(log: EventLog): KeylimeMbRefstate {
  if (!log.banks.includes('sha256')) throw new MbRefstateFromLogError('the log has no sha256 digests');
  const events = log.events;
  const vars = new Map<string, MbSignature[]>();
  let secureBoot: boolean | undefined;
  for (const e of events) {
    if (e.type !== EV.EV_EFI_VARIABLE_DRIVER_CONFIG) continue;
    const v = variableOf(e, { allowTrailing: true });
    const name = v.unicodeName.toLowerCase();
    // The first SecureBoot event decides, as in Keylime's tool.
    if (v.unicodeName === 'SecureBoot') secureBoot ??= v.variableData.length > 0 && v.variableData[0] === 1;
    else if (['pk', 'kek', 'db', 'dbx'].includes(name)) vars.set(name, signatures(e, v.variableData));
  }
  if (secureBoot === undefined) secureBoot = false;
  const scrtm = events.find((e) => e.type === EV.EV_S_CRTM_VERSION);
  if (!scrtm) throw new MbRefstateFromLogError('the log has no EV_S_CRTM_VERSION event');
  const firmware = events
    .filter((e) => e.type === EV.EV_EFI_PLATFORM_FIRMWARE_BLOB || e.type === EV.EV_EFI_PLATFORM_FIRMWARE_BLOB2)
    .map(sha256Of);
  const iplStrings = (pcr: number) =>
    events.filter((e) => e.type === EV.EV_IPL && e.pcr === pcr).map((e) => ({ e, s: text(e.data) }));
  const mok = (name: string) =>
    iplStrings(14)
      .filter(({ s }) => s === name)
      .map(({ e }) => sha256Of(e));

  const apps = events
    .filter((e) => e.type === EV.EV_EFI_BOOT_SERVICES_APPLICATION && !firmwareApplication(e))
    .map((e) => sha256Of(e).sha256);
  const wanted = secureBoot ? '3 or 4 (shim, grub, kernel)' : '2 (shim, grub)';
  if (secureBoot ? apps.length !== 3 && apps.length !== 4 : apps.length !== 2)
    throw new MbRefstateFromLogError(`the log has ${apps.length} boot applications; Keylime expects ${wanted}`);
  const pcr9 = iplStrings(9);
  const file = (what: RegExp, name: string): string => {
    const hit = pcr9.find(({ s }) => what.test(s));
    if (!hit) throw new MbRefstateFromLogError(`the log has no PCR 9 EV_IPL event of the ${name}`);
    return sha256Of(hit.e).sha256;
  };
  const cmdline = iplStrings(8).find(({ s }) => s.includes('kernel_cmdline'));
  if (!cmdline) throw new MbRefstateFromLogError('the log has no PCR 8 kernel_cmdline event');
  const kernel: MbKernel = {
    ...(secureBoot ? { kernel_authcode_sha256: apps[2] } : {}),
    shim_authcode_sha256: apps[0],
    grub_authcode_sha256: apps[1],
    initrd_plain_sha256: file(/initrd|initramfs/, 'initrd'),
    ...(secureBoot ? {} : { vmlinuz_plain_sha256: file(/vmlinuz/, 'kernel (vmlinuz)') }),
    kernel_cmdline: cmdline.s.slice('kernel_cmdline: '.length).replace(PY_REGEX_SPECIAL, (c) => `\\${c}`),
  };
  return {
    has_secureboot: secureBoot,
    scrtm_and_bios: [{ scrtm: sha256Of(scrtm), platform_firmware: firmware }],
    pk: vars.get('pk') ?? [],
    kek: vars.get('kek') ?? [],
    db: vars.get('db') ?? [],
    dbx: vars.get('dbx') ?? [],
    vendor_db: [],
    mokdig: mok('MokList'),
    mokxdig: mok('MokListX'),
    kernels: [kernel],
  };
}
