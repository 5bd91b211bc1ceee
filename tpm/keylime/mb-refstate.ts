// Keylime's measured-boot reference state ("mb_refstate"), the JSON its `example` measured-boot policy
// (keylime/mba/elchecking/example.py, Keylime 7.14.3) judges a boot log against: checked here the way that
// policy reads it, so a file it would reject (or treat as accept-all) is refused before any node is judged.

/** Largest reference state file read. Real ones are a few KiB (one entry per key and boot chain). */
export const MAX_MB_REFSTATE_BYTES = 1024 * 1024;

/** PCRs the `example` policy reads its events from; Keylime refuses a quote that lacks one of them. */
export const KEYLIME_EXAMPLE_POLICY_PCRS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14];

/** A digest, `{"<alg>": "0x<hex>"}`. */
export type MbDigest = Record<string, string>;
/** A signature-list entry, `{"SignatureOwner": "<guid>", "SignatureData": "0x<hex>"}`. */
export interface MbSignature {
  SignatureOwner: string;
  SignatureData: string;
}
/** One allowed boot chain; with Secure Boot the kernel's Authenticode digest, without it vmlinuz's file digest. */
export interface MbKernel {
  shim_authcode_sha256: string;
  grub_authcode_sha256: string;
  kernel_authcode_sha256?: string;
  vmlinuz_plain_sha256?: string;
  initrd_plain_sha256: string;
  /** A Python regular expression the command line grub logs must match. */
  kernel_cmdline: string;
}
export interface KeylimeMbRefstate {
  has_secureboot: boolean;
  scrtm_and_bios: { scrtm: MbDigest; platform_firmware: MbDigest[] }[];
  pk: MbSignature[];
  kek: MbSignature[];
  db: MbSignature[];
  dbx: MbSignature[];
  vendor_db: MbSignature[];
  mokdig: MbDigest[];
  mokxdig: MbDigest[];
  kernels: MbKernel[];
}

/** A reference state that the `example` policy would not accept as one; `path` is the JSON path at fault. */
export class MbRefstateError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'MbRefstateError';
  }
}

const HEX = /^0x[0-9a-f]+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIGNATURE_KEYS = ['pk', 'kek', 'db', 'dbx', 'vendor_db'] as const;

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

function list<T>(v: Json, path: string, each: (e: Json, p: string) => T): T[] {
  if (!Array.isArray(v)) throw new MbRefstateError(path, 'must be a list');
  return v.map((e, i) => each(e, `${path}[${i}]`));
}

function object(v: Json, path: string): Record<string, Json> {
  if (!isObject(v)) throw new MbRefstateError(path, 'must be an object');
  return v;
}

function hex(v: Json, path: string): string {
  if (typeof v !== 'string' || !HEX.test(v))
    throw new MbRefstateError(path, 'must be "0x" followed by lowercase hex digits');
  return v;
}

function digest(v: Json, path: string): MbDigest {
  const o = object(v, path);
  if (Object.keys(o).length === 0) throw new MbRefstateError(path, 'names no digest');
  return Object.fromEntries(Object.entries(o).map(([alg, d]) => [alg, hex(d, `${path}.${alg}`)]));
}

function signature(v: Json, path: string): MbSignature {
  const o = object(v, path);
  if (typeof o.SignatureOwner !== 'string' || !GUID.test(o.SignatureOwner))
    throw new MbRefstateError(`${path}.SignatureOwner`, 'must be a lowercase GUID');
  return { SignatureOwner: o.SignatureOwner, SignatureData: hex(o.SignatureData, `${path}.SignatureData`) };
}

function kernel(v: Json, path: string, secureBoot: boolean): MbKernel {
  const o = object(v, path);
  const fields = [
    'shim_authcode_sha256',
    'grub_authcode_sha256',
    secureBoot ? 'kernel_authcode_sha256' : 'vmlinuz_plain_sha256',
    'initrd_plain_sha256',
  ];
  const out: Record<string, string> = {};
  for (const f of fields) out[f] = hex(o[f], `${path}.${f}`);
  if (typeof o.kernel_cmdline !== 'string') throw new MbRefstateError(`${path}.kernel_cmdline`, 'must be a string');
  return { ...(out as unknown as MbKernel), kernel_cmdline: o.kernel_cmdline };
}

/**
 * Parses and checks a Keylime `example`-policy reference state: every key the policy requires is there with its
 * shape (`has_secureboot` optional boolean, default true; `scrtm_and_bios`, `pk`, `kek`, `db`, `dbx`, `mokdig`,
 * `mokxdig`, `kernels` required; `vendor_db` optional), digests and signature data `0x` + lowercase hex, at
 * least one allowed boot chain. `{}` is refused: Keylime treats an empty state as accept-all. Returns the state
 * with the optional keys filled in. Does NOT check that the kernel_cmdline values are valid Python regular
 * expressions (Keylime compiles them when it judges a log).
 */
export function parseKeylimeMbRefstate(text: string): KeylimeMbRefstate {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new MbRefstateError('$', `not JSON: ${(err as Error).message}`);
  }
  const o = object(doc, '$');
  if (o.has_secureboot !== undefined && typeof o.has_secureboot !== 'boolean')
    throw new MbRefstateError('$.has_secureboot', 'must be true or false');
  const secureBoot = o.has_secureboot !== false;
  for (const k of ['scrtm_and_bios', 'pk', 'kek', 'db', 'dbx', 'mokdig', 'mokxdig', 'kernels'])
    if (!(k in o)) throw new MbRefstateError(`$.${k}`, 'is required');
  const sigs = Object.fromEntries(SIGNATURE_KEYS.map((k) => [k, list(o[k] ?? [], `$.${k}`, signature)])) as Record<
    (typeof SIGNATURE_KEYS)[number],
    MbSignature[]
  >;
  const kernels = list(o.kernels, '$.kernels', (e, p) => kernel(e, p, secureBoot));
  if (kernels.length === 0) throw new MbRefstateError('$.kernels', 'lists no boot chain (no node could pass)');
  const scrtmAndBios = list(o.scrtm_and_bios, '$.scrtm_and_bios', (e, p) => {
    const entry = object(e, p);
    return {
      scrtm: digest(entry.scrtm, `${p}.scrtm`),
      platform_firmware: list(entry.platform_firmware, `${p}.platform_firmware`, digest),
    };
  });
  if (scrtmAndBios.length === 0)
    throw new MbRefstateError('$.scrtm_and_bios', 'lists no firmware (no node could pass)');
  return {
    has_secureboot: secureBoot,
    scrtm_and_bios: scrtmAndBios,
    ...sigs,
    mokdig: list(o.mokdig, '$.mokdig', digest),
    mokxdig: list(o.mokxdig, '$.mokxdig', digest),
    kernels,
  };
}
