// A test-made TCG event log of a Secure Boot machine booting shim -> grub -> a kernel, and the tpm2_pcrextend
// calls that make a TPM's PCRs match it. Used to exercise measured boot against swtpm end to end.
import { createHash, randomBytes } from 'node:crypto';
import type { HashName } from '../../tpm/crypto/hash';
import { hashSize } from '../../tpm/crypto/hash';
import { marshal } from '../../tpm/marshal/codec';
import {
  createEventLog,
  EFI_GLOBAL_VARIABLE,
  EFI_IMAGE_SECURITY_DATABASE,
  EV,
  UefiVariableData,
  type EventLog,
  type NewEvent,
} from '../../tpm/eventlog';

/** EFI_GUID bytes of a GUID string (first three fields little-endian). */
export function guidBytes(guid: string): Uint8Array {
  const [a, b, c, d, e] = guid.split('-');
  const le = (h: string) => Buffer.from(h, 'hex').reverse();
  return new Uint8Array(Buffer.concat([le(a), le(b), le(c), Buffer.from(d + e, 'hex')]));
}

export const variable = (guid: string, name: string, data: Uint8Array): Uint8Array =>
  marshal(UefiVariableData, { variableName: guidBytes(guid), unicodeName: name, variableData: data });

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

export interface BootLog {
  log: EventLog;
  /** What the facts must say. */
  expect: { bootApps: string[]; kernel: string; kernelCmdline: string; db: string };
}

// UEFI spec 32.4.1 EFI_SIGNATURE_LIST owner GUIDs and types (facts).
const EFI_CERT_X509_GUID = 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072';
const EFI_CERT_SHA256_GUID = 'c1c41626-504c-4092-aca9-41f936934328';
const TEST_OWNER = '77fa9abd-0359-4d32-bd60-28f4e78f784b';

/** One EFI_SIGNATURE_LIST (UEFI 32.4.1): type, sizes, no header, `entries` each owner GUID + data. */
export function signatureList(type: 'x509' | 'sha256', entries: Uint8Array[]): Uint8Array {
  const size = 16 + (entries[0]?.length ?? 0);
  const head = Buffer.alloc(28);
  Buffer.from(guidBytes(type === 'x509' ? EFI_CERT_X509_GUID : EFI_CERT_SHA256_GUID)).copy(head, 0);
  head.writeUInt32LE(28 + size * entries.length, 16);
  head.writeUInt32LE(0, 20);
  head.writeUInt32LE(size, 24);
  return new Uint8Array(Buffer.concat([head, ...entries.map((d) => Buffer.concat([guidBytes(TEST_OWNER), d]))]));
}

/** A UEFI_IMAGE_LOAD_EVENT (TCG PC Client PFP 10.2.3) for a file path device path node (UEFI 10.3.5.4). */
function imageLoadEvent(path: string): Uint8Array {
  const name = Buffer.from(`${path}\0`, 'utf16le');
  const node = Buffer.alloc(4);
  node.writeUInt8(0x04, 0); // MEDIA_DEVICE_PATH
  node.writeUInt8(0x04, 1); // MEDIA_FILEPATH_DP
  node.writeUInt16LE(4 + name.length, 2);
  const devicePath = Buffer.concat([node, name, Buffer.from([0x7f, 0xff, 0x04, 0x00])]);
  const head = Buffer.alloc(32);
  head.writeBigUInt64LE(0x7e000000n, 0);
  head.writeBigUInt64LE(0x100000n, 8);
  head.writeBigUInt64LE(0n, 16);
  head.writeBigUInt64LE(BigInt(devicePath.length), 24);
  return new Uint8Array(Buffer.concat([head, devicePath]));
}

/**
 * A crypto-agile log in `banks`: CRTM version (PCR 0), SecureBoot/PK/KEK/db/dbx and a db authority (PCR 7), shim
 * and grub (PCR 4), grub's linux command and kernel command line (PCR 8), the kernel file (PCR 9), MokList
 * (PCR 14), separators on 0-7 (with `beforeSeparator` / `afterSeparator` events around them). Image digests
 * are random, so each call is a different boot.
 */
export function makeBootLog(options: {
  banks: HashName[];
  secureBoot?: boolean;
  cmdline?: string;
  beforeSeparator?: NewEvent[];
  afterSeparator?: NewEvent[];
  /**
   * Events in the shapes real firmware, shim and grub write and Keylime's parser (tpm2_eventlog + libefivar)
   * and its `example` measured-boot policy read: PK/KEK/db/dbx as EFI_SIGNATURE_LISTs, boot applications as
   * image load events with a file device path, with Secure Boot on the kernel verified by shim as a third boot
   * application, and an initrd in PCR 9. Default false (opaque random variable and image data).
   */
  firmwareShapes?: boolean;
}): BootLog {
  const { banks } = options;
  const cmdline = options.cmdline ?? '/vmlinuz-test root=/dev/vda1 ro console=ttyS0';
  const measured = (): Partial<Record<HashName, Uint8Array>> =>
    Object.fromEntries(banks.map((b) => [b, randomBytes(hashSize(b))]));
  const over = (data: Uint8Array): Partial<Record<HashName, Uint8Array>> =>
    Object.fromEntries(banks.map((b) => [b, createHash(b).update(data).digest()]));
  const shapes = options.firmwareShapes === true;
  const kernelApp = shapes && options.secureBoot !== false;
  const keyData = (type: 'x509' | 'sha256', n: number, size: number): Uint8Array =>
    shapes ? signatureList(type, [randomBytes(size)]) : randomBytes(n);
  const db = keyData('sha256', 300, 32);
  const shim = measured();
  const grub = measured();
  const kernel = measured();
  const image = (path: string): Uint8Array => (shapes ? imageLoadEvent(path) : randomBytes(40));
  const kernelPath = cmdline.split(' ')[0];
  const initrdPath = kernelPath.replace('vmlinuz', 'initrd');
  const separator = (pcr: number): NewEvent => ({ pcr, type: EV.EV_SEPARATOR, data: new Uint8Array(4) });
  const events: NewEvent[] = [
    { pcr: 0, type: EV.EV_S_CRTM_VERSION, data: new Uint8Array(Buffer.from('test firmware 1.0\0', 'utf16le')) },
    {
      pcr: 7,
      type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG,
      data: variable(EFI_GLOBAL_VARIABLE, 'SecureBoot', Uint8Array.of(options.secureBoot === false ? 0 : 1)),
    },
    {
      pcr: 7,
      type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG,
      data: variable(EFI_GLOBAL_VARIABLE, 'PK', keyData('x509', 200, 64)),
    },
    {
      pcr: 7,
      type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG,
      data: variable(EFI_GLOBAL_VARIABLE, 'KEK', keyData('x509', 200, 64)),
    },
    { pcr: 7, type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG, data: variable(EFI_IMAGE_SECURITY_DATABASE, 'db', db) },
    {
      pcr: 7,
      type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG,
      data: variable(EFI_IMAGE_SECURITY_DATABASE, 'dbx', keyData('sha256', 100, 32)),
    },
    ...(options.beforeSeparator ?? []),
    ...[0, 1, 2, 3, 4, 5, 6, 7].map(separator),
    ...(options.afterSeparator ?? []),
    { pcr: 7, type: EV.EV_EFI_VARIABLE_AUTHORITY, data: variable(EFI_IMAGE_SECURITY_DATABASE, 'db', randomBytes(120)) },
    { pcr: 4, type: EV.EV_EFI_BOOT_SERVICES_APPLICATION, data: image('\\EFI\\test\\shimx64.efi'), digests: shim },
    { pcr: 14, type: EV.EV_IPL, data: text('MokList\0'), digests: measured() },
    { pcr: 4, type: EV.EV_EFI_BOOT_SERVICES_APPLICATION, data: image('\\EFI\\test\\grubx64.efi'), digests: grub },
    { pcr: 8, type: EV.EV_IPL, data: text(`grub_cmd: linux ${cmdline}\0`), digests: over(text(`linux ${cmdline}`)) },
    // With Secure Boot, shim verifies the kernel for grub and measures it as a boot application too.
    ...(kernelApp
      ? [{ pcr: 4, type: EV.EV_EFI_BOOT_SERVICES_APPLICATION, data: image(kernelPath), digests: kernel }]
      : []),
    { pcr: 9, type: EV.EV_IPL, data: text(`${kernelPath}\0`), digests: kernel },
    ...(shapes
      ? [
          {
            pcr: 8,
            type: EV.EV_IPL,
            data: text(`grub_cmd: initrd ${initrdPath}\0`),
            digests: over(text(`initrd ${initrdPath}`)),
          },
          { pcr: 9, type: EV.EV_IPL, data: text(`${initrdPath}\0`), digests: measured() },
        ]
      : []),
    { pcr: 8, type: EV.EV_IPL, data: text(`kernel_cmdline: ${cmdline}\0`), digests: over(text(cmdline)) },
  ];
  return {
    log: createEventLog({ banks, events }),
    expect: {
      bootApps: [shim.sha256, grub.sha256, ...(kernelApp ? [kernel.sha256] : [])].map((d) =>
        Buffer.from(d!).toString('hex'),
      ),
      kernel: Buffer.from(kernel.sha256!).toString('hex'),
      kernelCmdline: cmdline,
      db: createHash('sha256').update(db).digest('hex'),
    },
  };
}

/** tpm2_pcrextend arguments that extend `log`'s events (EV_NO_ACTION excluded) in order, one argument per event. */
export function pcrExtendArgs(log: EventLog): string[] {
  return log.events
    .filter((e) => e.type !== EV.EV_NO_ACTION)
    .map((e) => `${e.pcr}:${log.banks.map((b) => `${b}=${Buffer.from(e.digests[b]!).toString('hex')}`).join(',')}`);
}
