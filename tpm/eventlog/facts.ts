// Boot facts read from a replayed event log: Secure Boot (PCR 7), boot applications (PCR 4), the kernel
// command line, kernel and initrd that grub or systemd-boot log (PCR 8/9), and shim's MOK lists (PCR 14).
import { timingSafeEqual } from 'node:crypto';
import type { HashName } from '../crypto/hash';
import * as EV from './constants';
import { EventLogError } from './errors';
import { hashOf, type LogEvent } from './parse';
import type { VerifiedEventLog } from './replay';
import { EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE, variableOf } from './uefi';

/** Lowercase hex digests of one measurement, by bank (only banks in which its PCR was verified). */
export type Digests = Partial<Record<HashName, string>>;

export type SecureBootVariable = 'PK' | 'KEK' | 'db' | 'dbx' | 'dbt' | 'dbr';
const SECURE_BOOT_VARIABLES: Readonly<Record<string, string>> = {
  PK: EFI_GLOBAL_VARIABLE,
  KEK: EFI_GLOBAL_VARIABLE,
  db: EFI_IMAGE_SECURITY_DATABASE,
  dbx: EFI_IMAGE_SECURITY_DATABASE,
  dbt: EFI_IMAGE_SECURITY_DATABASE,
  dbr: EFI_IMAGE_SECURITY_DATABASE,
};

export interface SecureBootFacts {
  /**
   * `enabled`: the SecureBoot variable was measured as 1 and nothing in PCR 7 weakens it; `disabled`: it was
   * measured as 0, or something weakens it (see `weakened`); `unknown`: PCR 7 holds no SecureBoot variable.
   */
  state: 'enabled' | 'disabled' | 'unknown';
  /** The SecureBoot variable's measured value (true = 1), when measured. */
  secureBootVariable?: boolean;
  /** SHA-256 (hex) of each measured Secure Boot database variable's contents (the EFI_SIGNATURE_LISTs). */
  variables: Partial<Record<SecureBootVariable, string>>;
  /**
   * Authorities (EV_EFI_VARIABLE_AUTHORITY) in log order: the variable that held it, SHA-256 of the entry
   * (EFI_SIGNATURE_DATA), and whether it verified an image loaded after the separator (shim, bootloader, kernel).
   */
  authorities: { variable: string; sha256: string; afterSeparator: boolean; eventIndex: number }[];
  /** What makes Secure Boot meaningless on this boot, e.g. `UEFI Debug Mode` (empty when nothing). */
  weakened: string[];
}

export interface MeasuredFile {
  /** The path the bootloader logged. Not covered by the digest: a log could relabel two loaded files. */
  path: string;
  digests: Digests;
  eventIndex: number;
}

export interface BootFacts {
  /** Present only when PCR 7 was verified. */
  secureBoot?: SecureBootFacts;
  /** PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION digests (Authenticode), in load order; only when PCR 4 was verified. */
  bootApps?: { digests: Digests; eventIndex: number }[];
  /** The last kernel command line grub or systemd-boot measured (PCR 8 verified), without the trailing NUL. */
  kernelCmdline?: string;
  /** The file grub's last `linux` command loaded (PCR 8 and 9 verified). */
  kernel?: MeasuredFile;
  /** The files grub's last `initrd` command loaded, in order (PCR 8 and 9 verified). */
  initrds?: MeasuredFile[];
  /** shim's MOK measurements (PCR 14 verified), e.g. `MokList`, `MokListX`, `MokListTrusted`. */
  mok?: { name: string; digests: Digests; eventIndex: number }[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);
const ascii = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const stripNul = (b: Uint8Array): Uint8Array =>
  b.length > 0 && b[b.length - 1] === 0 ? b.subarray(0, b.length - 1) : b;

// Banks, strongest first, in which `pcr` was verified.
function banksFor(v: VerifiedEventLog, pcr: number): HashName[] {
  return (['sha512', 'sha384', 'sha256', 'sha1'] as const).filter((b) => v.verified[b]?.has(pcr));
}

function digestsOf(e: LogEvent, banks: HashName[]): Digests {
  const out: Digests = {};
  for (const b of banks) {
    const d = e.digests[b];
    if (d) out[b] = hex(d);
  }
  return out;
}

/**
 * Event data is only believed when it is what was measured: in every verified bank the digest must equal the
 * hash of one of `candidates` (the forms the PFP or the bootloader hash). EVENT_DATA_MISMATCH otherwise.
 */
function authenticate(e: LogEvent, banks: HashName[], candidates: Uint8Array[], what: string): void {
  for (const bank of banks) {
    const d = e.digests[bank];
    if (!d || !candidates.some((c) => sameBytes(hashOf(bank, c), d)))
      throw new EventLogError(
        'EVENT_DATA_MISMATCH',
        `event ${e.index} (${e.typeName}, PCR ${e.pcr}): ${what} does not hash to its ${bank} digest`,
        {
          eventIndex: e.index,
          pcr: e.pcr,
          bank,
        },
      );
  }
}

function eventsOn(v: VerifiedEventLog, pcr: number): LogEvent[] {
  return v.log.events.filter((e) => e.pcr === pcr && e.type !== EV.EV_NO_ACTION);
}

function secureBootFacts(v: VerifiedEventLog, banks: HashName[]): SecureBootFacts {
  const facts: SecureBootFacts = { state: 'unknown', variables: {}, authorities: [], weakened: [] };
  let separators = 0;
  for (const e of eventsOn(v, 7)) {
    switch (e.type) {
      case EV.EV_EFI_VARIABLE_DRIVER_CONFIG: {
        const vd = variableOf(e);
        // TPM 1.2-era firmware (SHA-1 logs) hashed only the variable's contents, not its name; crypto-agile logs
        // must cover the name too (PFP 10.4.3), or a log could relabel one variable as another.
        authenticate(e, banks, v.log.format === 'sha1' ? [e.data, vd.variableData] : [e.data], 'UEFI_VARIABLE_DATA');
        // PFP 3.3.4.8: the configuration is measured before the separator; later changes are not the boot's policy.
        if (separators > 0)
          facts.weakened.push(`${printable(vd.unicodeName)} measured after the separator (event ${e.index})`);
        if (vd.unicodeName === 'SecureBoot' && vd.guid === EFI_GLOBAL_VARIABLE) {
          const on = vd.variableData.length === 1 && vd.variableData[0] === 1;
          if (facts.secureBootVariable !== undefined && facts.secureBootVariable !== on)
            facts.weakened.push(`SecureBoot measured twice with different values (event ${e.index})`);
          facts.secureBootVariable = on;
        } else if (SECURE_BOOT_VARIABLES[vd.unicodeName] === vd.guid) {
          const name = vd.unicodeName as SecureBootVariable;
          if (facts.variables[name] === undefined) facts.variables[name] = hex(hashOf('sha256', vd.variableData));
          else facts.weakened.push(`${name} measured twice (event ${e.index})`);
        }
        break;
      }
      case EV.EV_EFI_VARIABLE_AUTHORITY: {
        // shim before commit 8a27a48 logs one byte more than it measured (go-attestation issue 157); that byte
        // then also leaves trailing bytes after the variable, which are not part of the authority.
        authenticate(e, banks, [e.data, e.data.subarray(0, Math.max(0, e.data.length - 1))], 'UEFI_VARIABLE_DATA');
        const vd = variableOf(e, { allowTrailing: true });
        facts.authorities.push({
          variable: printable(vd.unicodeName),
          sha256: hex(hashOf('sha256', vd.variableData)),
          afterSeparator: separators > 0,
          eventIndex: e.index,
        });
        break;
      }
      case EV.EV_EFI_ACTION: {
        authenticate(e, banks, [e.data], 'the action string');
        // PFP 10.4.4 / 3.3.4.8: debug mode and disabled DMA protection are measured into PCR 7 because they defeat Secure Boot.
        facts.weakened.push(printable(ascii(e.data)));
        break;
      }
      case EV.EV_SEPARATOR: {
        authenticate(e, banks, [e.data], 'the separator');
        if (++separators > 1) facts.weakened.push(`second separator (event ${e.index})`);
        if (!(e.data.length === 4 && e.data.every((b) => b === 0)))
          facts.weakened.push(`error separator (event ${e.index})`);
        break;
      }
      default:
        facts.weakened.push(`unexpected ${e.typeName} (event ${e.index})`);
    }
  }
  if (facts.secureBootVariable !== undefined)
    facts.state = facts.secureBootVariable && facts.weakened.length === 0 ? 'enabled' : 'disabled';
  return facts;
}

// Strings from the log that reach facts: printable ASCII only, at most 256 characters.
function printable(s: string): string {
  const clean = s.replace(/\0+$/, '').replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 256 ? `${clean.slice(0, 253)}...` : clean;
}

const GRUB_CMDLINE_PREFIXES = ['kernel_cmdline: ', 'grub_kernel_cmdline '];
const GRUB_CMD_PREFIXES = ['grub_cmd: ', 'grub_cmd '];

function afterPrefix(data: Uint8Array, prefixes: string[]): { prefix: string; rest: Uint8Array } | undefined {
  const text = ascii(data.subarray(0, 32));
  const prefix = prefixes.find((p) => text.startsWith(p));
  return prefix === undefined ? undefined : { prefix, rest: data.subarray(prefix.length) };
}

// systemd-boot (before v250 it measured the kernel command line into PCR 8) writes UTF-16LE with a NUL.
function utf16Cmdline(data: Uint8Array): string | undefined {
  if (data.length < 4 || data.length % 2 !== 0) return undefined;
  for (let i = 1; i < data.length; i += 2) if (data[i] !== 0) return undefined;
  return Buffer.from(data).toString('utf16le').replace(/\0+$/, '');
}

// The path grub logs for a file: `(hd0,gpt1)/vmlinuz` and `/vmlinuz` name the same file for matching.
const withoutDevice = (path: string): string => path.replace(/^\([^)]*\)/, '');

function bootloaderFacts(v: VerifiedEventLog, facts: BootFacts): void {
  const banks8 = banksFor(v, 8);
  if (banks8.length === 0) return;
  let kernelPath: string | undefined;
  let initrdPaths: string[] | undefined;
  let kernelIndex = -1;
  let initrdIndex = -1;
  for (const e of eventsOn(v, 8)) {
    if (e.type !== EV.EV_IPL) continue;
    const cmdline = afterPrefix(e.data, GRUB_CMDLINE_PREFIXES);
    if (cmdline) {
      // grub hashes the string without its prefix; older grubs include the NUL.
      authenticate(e, banks8, [stripNul(cmdline.rest), cmdline.rest], 'the kernel command line');
      facts.kernelCmdline = ascii(stripNul(cmdline.rest));
      continue;
    }
    const cmd = afterPrefix(e.data, GRUB_CMD_PREFIXES);
    if (cmd) {
      const words = ascii(stripNul(cmd.rest)).split(/\s+/);
      if (/^linux(efi|16)?$/.test(words[0]) && words[1]) {
        authenticate(e, banks8, [stripNul(cmd.rest), cmd.rest], 'the grub command');
        kernelPath = withoutDevice(words[1]);
        kernelIndex = e.index;
      } else if (/^initrd(efi|16)?$/.test(words[0]) && words.length > 1) {
        authenticate(e, banks8, [stripNul(cmd.rest), cmd.rest], 'the grub command');
        initrdPaths = words.slice(1).filter(Boolean).map(withoutDevice);
        initrdIndex = e.index;
      }
      continue;
    }
    const sdboot = utf16Cmdline(e.data);
    if (sdboot !== undefined) {
      authenticate(e, banks8, [e.data], 'the kernel command line');
      facts.kernelCmdline = sdboot;
    }
  }
  const banks9 = banksFor(v, 9);
  if (banks9.length === 0) return;
  // The file grub loaded after the command that named it: the PCR 9 event with the command's path, or the
  // label RHEL's linuxefi module logs instead (`grub_linuxefi Kernel` / `grub_linuxefi Initrd`).
  const pcr9 = eventsOn(v, 9).filter((e) => e.type === EV.EV_IPL);
  const named = (e: LogEvent): string => withoutDevice(ascii(stripNul(e.data)));
  const loaded = (path: string, after: number, label: string, nth = 0): MeasuredFile | undefined => {
    const e =
      pcr9.find((x) => x.index > after && named(x) === path) ??
      pcr9.filter((x) => x.index > after && named(x) === label)[nth];
    return e && { path: printable(path), digests: digestsOf(e, banks9), eventIndex: e.index };
  };
  if (kernelPath) facts.kernel = loaded(kernelPath, kernelIndex, 'grub_linuxefi Kernel');
  if (initrdPaths)
    facts.initrds = initrdPaths
      .map((p, i) => loaded(p, initrdIndex, 'grub_linuxefi Initrd', i))
      .filter((f): f is MeasuredFile => f !== undefined);
}

/**
 * Reads boot facts from a log verified against quoted PCRs (`verifyEventLog`). Each fact is present only when
 * every PCR holding it is in `verified.verified`; event data a fact is read from must hash to the event's
 * digest in every verified bank (EVENT_DATA_MISMATCH otherwise), while digests of loaded images (PCR 4, 9) are
 * taken as measured. Does NOT check: that the paths grub logs in PCR 9 name the right file (paths are not
 * measured), the meaning of anything outside PCRs 4, 7, 8, 9 and 14. Throws EVENT_LOG_MALFORMED when a UEFI
 * variable event does not decode.
 */
export function extractBootFacts(v: VerifiedEventLog): BootFacts {
  const facts: BootFacts = {};
  const banks7 = banksFor(v, 7);
  if (banks7.length > 0) facts.secureBoot = secureBootFacts(v, banks7);
  const banks4 = banksFor(v, 4);
  if (banks4.length > 0)
    facts.bootApps = eventsOn(v, 4)
      .filter((e) => e.type === EV.EV_EFI_BOOT_SERVICES_APPLICATION)
      .map((e) => ({ digests: digestsOf(e, banks4), eventIndex: e.index }));
  bootloaderFacts(v, facts);
  const banks14 = banksFor(v, 14);
  if (banks14.length > 0)
    facts.mok = eventsOn(v, 14)
      .filter((e) => e.type === EV.EV_IPL)
      .map((e) => ({ name: printable(ascii(e.data)), digests: digestsOf(e, banks14), eventIndex: e.index }));
  return facts;
}
