// The identity cache's file in ak_data_dir, so the first attestation after a restart can confirm the TPM
// identity instead of reading it all. Everything in it is public (TPM facts, EK and AK publics, certificates);
// it is still untrusted input: bounded, versioned, parsed strictly, and each public area is re-decoded and its
// Name recomputed. Whatever it says is then confirmed on the TPM like the in-memory identity.
import { join } from 'node:path';
import { MAX_EK_CERTIFICATE_BYTES, MAX_EK_INTERMEDIATES } from '../proto';
import {
  certMatchesPublic,
  EK_PROFILES,
  parseTpmtPublic,
  tpmName,
  type EkKind,
  type SessionIdentity,
  type TpmInfo,
} from '../tpm';
import type { QuotedFacts } from './identity-cache';

/** The file's name in ak_data_dir. */
export const IDENTITY_FILE_NAME = 'tpm-identity-cache.json';
export const IDENTITY_FILE_VERSION = 1;
/** Largest file read: the certificates at their protocol bounds, base64, plus the rest. */
export const MAX_IDENTITY_FILE_BYTES =
  Math.ceil(((MAX_EK_INTERMEDIATES + 1) * MAX_EK_CERTIFICATE_BYTES * 4) / 3) + 16384;

/** The identity cache file for `akDataDir`. */
export function identityFilePath(akDataDir: string): string {
  return join(akDataDir, IDENTITY_FILE_NAME);
}

/** What the file holds: the cache entry, keyed by the digest of the configuration it was read under. */
export interface IdentityRecord {
  key: string;
  identity: SessionIdentity<TpmInfo>;
  quoted: QuotedFacts;
  /** When the identity was read (ms since the epoch): identity_cache_max_age counts from here. */
  filledAt: number;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** The file's text for `r`. */
export function encodeIdentityRecord(r: IdentityRecord): string {
  const { facts, ek, ak } = r.identity;
  return JSON.stringify({
    version: IDENTITY_FILE_VERSION,
    key: r.key,
    filledAt: r.filledAt,
    quoted: { resetCount: r.quoted.resetCount, firmwareVersion: r.quoted.firmwareVersion.toString() },
    facts,
    ek: {
      kind: ek.kind,
      public: b64(ek.public.bytes),
      certificate: ek.certificate && b64(ek.certificate),
      certIndex: ek.certIndex,
      persistentHandle: ek.persistentHandle,
      intermediates: ek.intermediates.map(b64),
    },
    ak: ak && { handle: ak.handle, public: b64(ak.public.bytes) },
  });
}

/** The identity cache file's text did not parse or is inconsistent; `message` says which field. */
export class IdentityFileError extends Error {
  override readonly name = 'IdentityFileError';
}

type Json = Record<string, unknown>;

// An object with exactly the keys `required` plus any of `optional` (undefined-valued keys never reach JSON).
function object(v: unknown, field: string, required: string[], optional: string[] = []): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new IdentityFileError(`${field}: not an object`);
  const o = v as Json;
  for (const k of required) if (!(k in o)) throw new IdentityFileError(`${field}.${k}: missing`);
  for (const k of Object.keys(o))
    if (!required.includes(k) && !optional.includes(k)) throw new IdentityFileError(`${field}.${k}: unknown key`);
  return o;
}

function uint(v: unknown, field: string, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    throw new IdentityFileError(`${field}: not an integer in 0..${max}`);
  return v;
}

// Printable text (no control characters), at most 64 characters unless `pattern` says otherwise.
function text(v: unknown, field: string, pattern = /^\P{Cc}{0,64}$/u): string {
  if (typeof v !== 'string' || !pattern.test(v)) throw new IdentityFileError(`${field}: not a valid string`);
  return v;
}

function bytes(v: unknown, field: string, maxBytes: number): Uint8Array {
  const s = text(v, field, /^[A-Za-z0-9+/]*={0,2}$/);
  const b = new Uint8Array(Buffer.from(s, 'base64'));
  if (b.length === 0 || b.length > maxBytes || b64(b) !== s)
    throw new IdentityFileError(`${field}: not canonical base64 of 1..${maxBytes} bytes`);
  return b;
}

function list<T>(v: unknown, field: string, max: number, item: (x: unknown, f: string) => T): T[] {
  if (!Array.isArray(v) || v.length > max) throw new IdentityFileError(`${field}: not a list of at most ${max}`);
  return v.map((x, i) => item(x, `${field}[${i}]`));
}

// A TPMT_PUBLIC decoded whole (no trailing bytes), with its Name recomputed.
function publicArea(v: unknown, field: string) {
  const raw = bytes(v, field, 2048);
  try {
    const pub = parseTpmtPublic(raw);
    return { pub, name: tpmName(pub) };
  } catch (e) {
    throw new IdentityFileError(`${field}: not a TPMT_PUBLIC: ${(e as Error).message}`);
  }
}

function facts(v: unknown): TpmInfo {
  const f = 'facts';
  const o = object(v, f, [
    'manufacturer',
    'manufacturerId',
    'vendor',
    'firmwareVersion',
    'family',
    'level',
    'revision',
    'pcrBanks',
  ]);
  return {
    manufacturer: text(o.manufacturer, `${f}.manufacturer`),
    manufacturerId: uint(o.manufacturerId, `${f}.manufacturerId`),
    vendor: text(o.vendor, `${f}.vendor`),
    firmwareVersion: text(o.firmwareVersion, `${f}.firmwareVersion`, /^\d{1,5}\.\d{1,5}\.\d{1,5}\.\d{1,5}$/),
    family: text(o.family, `${f}.family`),
    level: uint(o.level, `${f}.level`),
    revision: uint(o.revision, `${f}.revision`),
    pcrBanks: list(o.pcrBanks, `${f}.pcrBanks`, 16, (x, bf) => {
      const b = object(x, bf, ['hash', 'hashName', 'pcrs']);
      return {
        hash: uint(b.hash, `${bf}.hash`, 0xffff),
        hashName: text(b.hashName, `${bf}.hashName`, /^[a-z0-9_]{1,16}$/),
        pcrs: list(b.pcrs, `${bf}.pcrs`, 32, (p, pf) => uint(p, pf, 31)),
      };
    }),
  };
}

/**
 * Parses the identity cache file's text (untrusted): JSON of this version with exactly the known keys, each
 * typed and bounded; the EK and AK publics decoded whole and their Names recomputed; the EK certificate must
 * certify the EK public when Node can parse it (as readEk requires). Throws IdentityFileError naming the
 * field. Does NOT check anything against the TPM: the caller confirms the identity there before use.
 */
export function parseIdentityRecord(text_: string): IdentityRecord {
  let j: unknown;
  try {
    j = JSON.parse(text_);
  } catch (e) {
    throw new IdentityFileError(`not JSON: ${(e as Error).message}`);
  }
  const version = (j as Json | null)?.version;
  if (version !== IDENTITY_FILE_VERSION)
    throw new IdentityFileError(`version ${JSON.stringify(version)}, expected ${IDENTITY_FILE_VERSION}`);
  const o = object(j, 'file', ['version', 'key', 'filledAt', 'quoted', 'facts', 'ek'], ['ak']);
  const quoted = object(o.quoted, 'quoted', ['resetCount', 'firmwareVersion']);
  const fw = text(quoted.firmwareVersion, 'quoted.firmwareVersion', /^\d{1,20}$/);
  if (BigInt(fw) > 0xffff_ffff_ffff_ffffn) throw new IdentityFileError('quoted.firmwareVersion: over 64 bits');
  const e = object(o.ek, 'ek', ['kind', 'public', 'intermediates'], ['certificate', 'certIndex', 'persistentHandle']);
  const kind = text(e.kind, 'ek.kind') as EkKind;
  if (!Object.hasOwn(EK_PROFILES, kind)) throw new IdentityFileError(`ek.kind: unknown EK kind ${kind}`);
  const ekPub = publicArea(e.public, 'ek.public');
  const certificate =
    e.certificate === undefined ? undefined : bytes(e.certificate, 'ek.certificate', MAX_EK_CERTIFICATE_BYTES);
  if (certificate && certMatchesPublic(certificate, ekPub.pub.value) === false)
    throw new IdentityFileError('ek.certificate: does not certify ek.public');
  let ak: SessionIdentity<TpmInfo>['ak'];
  if (o.ak !== undefined) {
    const a = object(o.ak, 'ak', ['handle', 'public']);
    const akPub = publicArea(a.public, 'ak.public');
    ak = { handle: uint(a.handle, 'ak.handle'), public: akPub.pub, name: akPub.name };
  }
  return {
    key: text(o.key, 'key', /^[0-9a-f]{64}$/),
    filledAt: uint(o.filledAt, 'filledAt', Number.MAX_SAFE_INTEGER),
    quoted: { resetCount: uint(quoted.resetCount, 'quoted.resetCount'), firmwareVersion: BigInt(fw) },
    identity: {
      facts: facts(o.facts),
      ek: {
        kind,
        public: ekPub.pub,
        name: ekPub.name,
        certificate,
        certIndex: e.certIndex === undefined ? undefined : uint(e.certIndex, 'ek.certIndex'),
        persistentHandle:
          e.persistentHandle === undefined ? undefined : uint(e.persistentHandle, 'ek.persistentHandle'),
        intermediates: list(e.intermediates, 'ek.intermediates', MAX_EK_INTERMEDIATES, (x, f) =>
          bytes(x, f, MAX_EK_CERTIFICATE_BYTES),
        ),
      },
      ak,
    },
  };
}
