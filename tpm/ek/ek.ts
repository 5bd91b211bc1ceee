// EK discovery: the EK certificate in NV, the persistent EK if one is provisioned (and matches the
// certificate), else the EK re-created from the profile template that matches the certificate found.
import { X509Certificate } from 'node:crypto';
import * as C from '../marshal/constants';
import { nameOfPublicBytes } from '../crypto/public-key';
import { TpmError, TPM_RC_HANDLE } from '../errors';
import type { WithBytes } from '../marshal/codec';
import type { TpmtPublic } from '../types';
import { TPM2_CreatePrimary, TPM2_PolicySecret, TPM2_ReadPublic, TPM2_StartAuthSession } from '../commands/definitions';
import {
  execute,
  passwordAuth,
  policyAuth,
  type AuthHandle,
  type CallOptions,
  type TpmSender,
} from '../commands/execute';
import { flushQuietly } from '../commands/flush';
import { nvReadAll } from '../commands/nv-read';
import { keyCreateParams, POLICY_SECRET_PARAMS, policySessionParams, UNBOUND_SESSION } from '../commands/params';
import { getHandles } from '../commands/capability';
import {
  EK_CERT_NV_FIRST,
  EK_INTERMEDIATE_NV_FIRST,
  EK_INTERMEDIATE_NV_LAST,
  EK_PERSISTENT_FIRST,
  EK_PERSISTENT_LAST,
  EK_PROFILES,
  hasEkAttributes,
  type EkKind,
  type EkProfile,
} from './templates';

/** Which EK to use: `auto` (the first kind with a certificate in NV, low range first, see ORDER), an algorithm family, or one kind. */
export type EkChoice = 'auto' | 'rsa' | 'ecc' | EkKind;

/** An EK as found on the TPM. Holds no TPM handle: `withEkHandle` loads it when needed. */
export interface EkInfo {
  kind: EkKind;
  /** The TPMT_PUBLIC, with its bytes (no size prefix) exactly as the TPM reports them. */
  public: WithBytes<TpmtPublic>;
  /** TPM Name: nameAlg || H(public.bytes). */
  name: Uint8Array;
  /** DER EK certificate (trimmed to its DER length), when the TPM holds one. */
  certificate?: Uint8Array;
  /** NV index the certificate was read from (undefined when it came from a file). */
  certIndex?: number;
  /** The persistent handle the EK lives at, or undefined when it is re-created from its template. */
  persistentHandle?: number;
}

/** The EK certificate in NV is for a different key than the EK this TPM derives from the matching template. */
export class EkCertificateMismatchError extends Error {
  override readonly name = 'EkCertificateMismatchError';
  constructor(
    readonly kind: EkKind,
    readonly certIndex: number | undefined,
    template: string,
  ) {
    const where = certIndex === undefined ? 'from ek_certificate_path' : `at NV 0x${certIndex.toString(16)}`;
    super(
      `EK certificate ${where} does not certify the ${kind} EK (template ${template}), and no persistent EK matches it`,
    );
  }
}

const ORDER: Record<EkChoice, EkKind[]> = {
  auto: ['rsa2048', 'ecc-p256', 'rsa2048-h', 'ecc-p256-h', 'ecc-p384', 'rsa3072'],
  rsa: ['rsa2048', 'rsa2048-h', 'rsa3072'],
  ecc: ['ecc-p256', 'ecc-p256-h', 'ecc-p384'],
  rsa2048: ['rsa2048'],
  'ecc-p256': ['ecc-p256'],
  'rsa2048-h': ['rsa2048-h'],
  'ecc-p256-h': ['ecc-p256-h'],
  'ecc-p384': ['ecc-p384'],
  rsa3072: ['rsa3072'],
};

/** TPM Name of a public area: nameAlg (u16) || H_nameAlg(TPMT_PUBLIC bytes) (Part 1, 16). */
export function objectName(nameAlg: number, publicBytes: Uint8Array): Uint8Array {
  return nameOfPublicBytes(nameAlg, publicBytes);
}

/**
 * Trims an EK certificate read from NV to its DER length (some TPMs pad the index with zeros or 0xff).
 * Returns undefined when the bytes do not start with a DER SEQUENCE whose length fits.
 */
export function trimDer(data: Uint8Array): Uint8Array | undefined {
  if (data.length < 2 || data[0] !== 0x30) return undefined;
  let len = data[1];
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || data.length < 2 + n) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + data[2 + i];
    header = 2 + n;
  }
  const total = header + len;
  return total <= data.length ? data.slice(0, total) : undefined;
}

async function readCert(
  tpm: TpmSender,
  index: number,
  o: CallOptions & { maxSize: number; chunkSize?: number },
): Promise<Uint8Array | undefined> {
  try {
    const raw = await nvReadAll(tpm, index, o);
    return trimDer(raw) ?? raw;
  } catch (e) {
    if (e instanceof TpmError && e.is(TPM_RC_HANDLE)) return undefined;
    throw e;
  }
}

/** True when the certificate's public key is the key in `pub` (RSA modulus, or ECC point). */
export function certMatchesPublic(certDer: Uint8Array, pub: TpmtPublic): boolean | undefined {
  let jwk: Record<string, unknown>;
  try {
    jwk = new X509Certificate(certDer).publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  } catch {
    return undefined; // unparsable here; the server's EK certificate check decides
  }
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  if (pub.type === C.TPM_ALG_RSA) return jwk.kty === 'RSA' && jwk.n === b64(pub.unique);
  if (pub.type === C.TPM_ALG_ECC) return jwk.kty === 'EC' && jwk.x === b64(pub.unique.x) && jwk.y === b64(pub.unique.y);
  return false;
}

/** True when `a` and `b` are keys of one template: type, nameAlg, attributes, authPolicy and size or curve. */
export function sameKeyType(a: TpmtPublic, b: TpmtPublic): boolean {
  if (a.type !== b.type || a.nameAlg !== b.nameAlg || a.objectAttributes !== b.objectAttributes) return false;
  if (Buffer.compare(Buffer.from(a.authPolicy), Buffer.from(b.authPolicy)) !== 0) return false;
  if (a.type === C.TPM_ALG_RSA && b.type === C.TPM_ALG_RSA) return a.parameters.keyBits === b.parameters.keyBits;
  if (a.type === C.TPM_ALG_ECC && b.type === C.TPM_ALG_ECC) return a.parameters.curveID === b.parameters.curveID;
  return false;
}

/** Where readEk looks besides NV, and whether a created EK stays loaded. */
export interface ReadEkOptions extends CallOptions {
  /** An EK certificate from elsewhere (the agent's ek_certificate_path): used instead of NV certificates. */
  certificate?: Uint8Array;
  /** Most CA certificates read from NV 0x01c00100-0x01c001ff (default 0: none read). */
  maxIntermediates?: number;
  /** Largest NV certificate read, leaf or CA (default 8192 bytes). */
  maxCertificateBytes?: number;
  /** Keep an EK created from its template loaded: returned as `transientHandle`, which the caller flushes. */
  keepLoaded?: boolean;
  /** NV read chunk size (TPM_PT_NV_BUFFER_MAX; asked of the TPM when not given). */
  chunkSize?: number;
}

/** readEk's answer: the EK, the CA certificates found in NV, and the handle of a created EK kept loaded. */
export interface FoundEk extends EkInfo {
  intermediates: Uint8Array[];
  transientHandle?: number;
}

// The EK public `pub` is one of `profile`'s: its template's (attributes, name algorithm, policy, key size),
// or for a kind without a template the EK attributes and the key type and size.
function isProfileEk(profile: EkProfile, pub: TpmtPublic): boolean {
  if (profile.template) return sameKeyType(pub, profile.template());
  if (!hasEkAttributes(pub) || pub.nameAlg !== C.TPM_ALG_SHA256) return false;
  const shape = profile.shape;
  if (shape.type === 'rsa') return pub.type === C.TPM_ALG_RSA && pub.parameters.keyBits === shape.keyBits;
  return pub.type === C.TPM_ALG_ECC && pub.parameters.curveID === shape.curveID;
}

/**
 * Finds the EK of the chosen kind. The certificate is `o.certificate` when given, else the first of the
 * candidate kinds' NV certificates (low and high range, see EkChoice) present. The EK is the persistent
 * one (EK range 0x81010000-0x810100ff) whose public is an EK template's of a candidate kind and whose key
 * the certificate certifies; otherwise it is created from a candidate template whose key the certificate
 * certifies (CreatePrimary; flushed before returning unless `o.keepLoaded`). Throws
 * EkCertificateMismatchError when no EK matches the certificate (fails closed). A certificate Node cannot
 * parse is passed on unchecked (the server's EK certificate check decides). CA certificates in NV
 * (0x01c00100 up, at most `o.maxIntermediates`) are returned as found, unchecked.
 */
export async function readEk(tpm: TpmSender, choice: EkChoice = 'auto', o: ReadEkOptions = {}): Promise<FoundEk> {
  const kinds = ORDER[choice];
  if (!kinds) throw new RangeError(`unknown EK choice "${choice}" (${Object.keys(ORDER).join(', ')})`);
  const maxSize = o.maxCertificateBytes ?? 8192;
  const nv = new Set(await getHandles(tpm, EK_CERT_NV_FIRST, o));
  let cert = o.certificate;
  let certIndex: number | undefined;
  let candidates = kinds;
  if (!cert) {
    for (const kind of kinds.filter((k) => nv.has(EK_PROFILES[k].certIndex))) {
      cert = await readCert(tpm, EK_PROFILES[kind].certIndex, { ...o, maxSize });
      if (cert) {
        candidates = [kind];
        certIndex = EK_PROFILES[kind].certIndex;
        break;
      }
    }
  }
  const intermediates: Uint8Array[] = [];
  const caIndices = [...nv].filter((h) => h >= EK_INTERMEDIATE_NV_FIRST && h <= EK_INTERMEDIATE_NV_LAST);
  for (const index of caIndices.slice(0, o.maxIntermediates ?? 0)) {
    const der = await readCert(tpm, index, { ...o, maxSize });
    if (der) intermediates.push(der);
  }
  const certifies = (pub: TpmtPublic) => !cert || certMatchesPublic(cert, pub) !== false;
  const found = (kind: EkKind, pub: WithBytes<TpmtPublic>, name: Uint8Array) => ({
    kind,
    public: pub,
    name,
    certificate: cert,
    certIndex: certIndex ?? (o.certificate ? undefined : EK_PROFILES[kind].certIndex),
    intermediates,
  });

  const persistent = (await getHandles(tpm, EK_PERSISTENT_FIRST, o)).filter((h) => h <= EK_PERSISTENT_LAST);
  for (const handle of persistent) {
    const { outPublic, name } = (
      await execute(tpm, TPM2_ReadPublic, { handles: { objectHandle: handle }, params: {}, signal: o.signal })
    ).params;
    const kind = candidates.find((k) => isProfileEk(EK_PROFILES[k], outPublic.value));
    if (kind && certifies(outPublic.value)) return { ...found(kind, outPublic, name), persistentHandle: handle };
  }

  for (const kind of candidates) {
    const template = EK_PROFILES[kind].template;
    if (!template) continue;
    const created = await createEk(tpm, template(), o);
    let keep = false;
    try {
      // Fail closed: a certificate for another key would only fail later, on the server, less clearly.
      if (!certifies(created.params.outPublic.value)) continue;
      keep = o.keepLoaded === true;
      const ek = found(kind, created.params.outPublic, created.params.name);
      return keep ? { ...ek, transientHandle: created.handle } : ek;
    } finally {
      if (!keep) await flushQuietly(tpm, created.handle);
    }
  }
  const kind = candidates[0];
  throw new EkCertificateMismatchError(kind, certIndex, EK_PROFILES[kind].profileTemplate);
}

// TPM2_CreatePrimary of an EK template in the endorsement hierarchy (empty password); the caller flushes it.
async function createEk(tpm: TpmSender, template: TpmtPublic, o: CallOptions) {
  const r = await execute(tpm, TPM2_CreatePrimary, {
    handles: { primaryHandle: C.TPM_RH_ENDORSEMENT },
    params: keyCreateParams(template),
    signal: o.signal,
  });
  return { handle: r.handle, params: r.params };
}

/**
 * Runs `fn` (one command) with the EK at `handle` authorized as its attributes require: a policy session
 * satisfying PolicySecret(TPM_RH_ENDORSEMENT) when userWithAuth is clear, an empty password otherwise. The
 * session has continueSession clear, so the TPM flushes it when the command succeeds; on failure it is
 * flushed here.
 */
export async function withEkAuth<T>(
  tpm: TpmSender,
  ek: EkInfo,
  handle: number,
  fn: (ek: AuthHandle) => Promise<T>,
  o: CallOptions = {},
): Promise<T> {
  if (ek.public.value.objectAttributes & C.TPMA_OBJECT_userWithAuth) return fn({ handle, auth: passwordAuth() });
  const session = (
    await execute(tpm, TPM2_StartAuthSession, {
      handles: UNBOUND_SESSION,
      params: policySessionParams({ hashAlg: ek.public.value.nameAlg }),
      signal: o.signal,
    })
  ).handle;
  try {
    await execute(tpm, TPM2_PolicySecret, {
      handles: { authHandle: C.TPM_RH_ENDORSEMENT, policySession: session },
      params: POLICY_SECRET_PARAMS,
      signal: o.signal,
    });
    return await fn({ handle, auth: policyAuth(session, 0) });
  } catch (e) {
    await flushQuietly(tpm, session);
    throw e;
  }
}

/**
 * Runs `fn` (one command) with the EK loaded and authorized (withEkAuth), then releases a transient EK it
 * created on every path.
 */
export async function withEkHandle<T>(
  tpm: TpmSender,
  ek: EkInfo,
  fn: (ek: AuthHandle) => Promise<T>,
  o: CallOptions = {},
): Promise<T> {
  const transient = ek.persistentHandle === undefined ? await recreateEk(tpm, ek, o) : undefined;
  try {
    return await withEkAuth(tpm, ek, ek.persistentHandle ?? transient!, fn, o);
  } finally {
    await flushQuietly(tpm, transient);
  }
}

/**
 * Re-creates the template EK `ek` (TPM2_CreatePrimary) and returns its transient handle, which the caller
 * flushes. Throws, having flushed it, when the TPM now derives a key of another Name (seed changed).
 */
export async function recreateEk(tpm: TpmSender, ek: EkInfo, o: CallOptions = {}): Promise<number> {
  const template = EK_PROFILES[ek.kind].template;
  if (!template) throw new Error(`EK ${ek.kind}: no template to re-create it from, and no persistent handle`);
  const created = await createEk(tpm, template(), o);
  if (Buffer.compare(Buffer.from(created.params.name), Buffer.from(ek.name)) !== 0) {
    await flushQuietly(tpm, created.handle);
    throw new Error(`EK ${ek.kind}: re-created EK has a different Name than the one read before`);
  }
  return created.handle;
}
