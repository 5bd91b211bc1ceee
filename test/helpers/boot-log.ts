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
}): BootLog {
  const { banks } = options;
  const cmdline = options.cmdline ?? '/vmlinuz-test root=/dev/vda1 ro console=ttyS0';
  const measured = (): Partial<Record<HashName, Uint8Array>> =>
    Object.fromEntries(banks.map((b) => [b, randomBytes(hashSize(b))]));
  const over = (data: Uint8Array): Partial<Record<HashName, Uint8Array>> =>
    Object.fromEntries(banks.map((b) => [b, createHash(b).update(data).digest()]));
  const db = randomBytes(300);
  const shim = measured();
  const grub = measured();
  const kernel = measured();
  const separator = (pcr: number): NewEvent => ({ pcr, type: EV.EV_SEPARATOR, data: new Uint8Array(4) });
  const events: NewEvent[] = [
    { pcr: 0, type: EV.EV_S_CRTM_VERSION, data: new Uint8Array(Buffer.from('test firmware 1.0\0', 'utf16le')) },
    {
      pcr: 7,
      type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG,
      data: variable(EFI_GLOBAL_VARIABLE, 'SecureBoot', Uint8Array.of(options.secureBoot === false ? 0 : 1)),
    },
    { pcr: 7, type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG, data: variable(EFI_GLOBAL_VARIABLE, 'PK', randomBytes(200)) },
    { pcr: 7, type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG, data: variable(EFI_GLOBAL_VARIABLE, 'KEK', randomBytes(200)) },
    { pcr: 7, type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG, data: variable(EFI_IMAGE_SECURITY_DATABASE, 'db', db) },
    {
      pcr: 7,
      type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG,
      data: variable(EFI_IMAGE_SECURITY_DATABASE, 'dbx', randomBytes(100)),
    },
    ...(options.beforeSeparator ?? []),
    ...[0, 1, 2, 3, 4, 5, 6, 7].map(separator),
    ...(options.afterSeparator ?? []),
    { pcr: 7, type: EV.EV_EFI_VARIABLE_AUTHORITY, data: variable(EFI_IMAGE_SECURITY_DATABASE, 'db', randomBytes(120)) },
    { pcr: 4, type: EV.EV_EFI_BOOT_SERVICES_APPLICATION, data: randomBytes(40), digests: shim },
    { pcr: 14, type: EV.EV_IPL, data: text('MokList\0'), digests: measured() },
    { pcr: 4, type: EV.EV_EFI_BOOT_SERVICES_APPLICATION, data: randomBytes(40), digests: grub },
    { pcr: 8, type: EV.EV_IPL, data: text(`grub_cmd: linux ${cmdline}\0`), digests: over(text(`linux ${cmdline}`)) },
    { pcr: 9, type: EV.EV_IPL, data: text(`${cmdline.split(' ')[0]}\0`), digests: kernel },
    { pcr: 8, type: EV.EV_IPL, data: text(`kernel_cmdline: ${cmdline}\0`), digests: over(text(cmdline)) },
  ];
  return {
    log: createEventLog({ banks, events }),
    expect: {
      bootApps: [shim.sha256, grub.sha256].map((d) => Buffer.from(d!).toString('hex')),
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
