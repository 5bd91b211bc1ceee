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
  type AuthSession,
  type CallOptions,
  type TpmSender,
} from '../commands/execute';
import { flushQuietly } from '../commands/flush';
import { nvReadAll } from '../commands/nv-read';
import { keyCreateParams, POLICY_SECRET_PARAMS, policySessionParams, UNBOUND_SESSION } from '../commands/params';
import { EK_PROFILES, type EkKind } from './templates';

/** Which EK to use: `auto` (the first kind with a certificate in NV: RSA-2048, ECC P-256, ECC P-384), an algorithm family, or one kind. */
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
  certIndex: number;
  /** The persistent handle the EK lives at, or undefined when it is re-created from its template. */
  persistentHandle?: number;
}

/** The EK certificate in NV is for a different key than the EK this TPM derives from the matching template. */
export class EkCertificateMismatchError extends Error {
  override readonly name = 'EkCertificateMismatchError';
  constructor(
    readonly kind: EkKind,
    readonly certIndex: number,
    template: string,
  ) {
    super(
      `EK certificate at NV 0x${certIndex.toString(16)} does not certify the ${kind} EK created from template ${template}, and no persistent EK matches it`,
    );
  }
}

const ORDER: Record<EkChoice, EkKind[]> = {
  auto: ['rsa2048', 'ecc-p256', 'ecc-p384'],
  rsa: ['rsa2048'],
  ecc: ['ecc-p256', 'ecc-p384'],
  rsa2048: ['rsa2048'],
  'ecc-p256': ['ecc-p256'],
  'ecc-p384': ['ecc-p384'],
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

async function readCert(tpm: TpmSender, index: number, o: CallOptions): Promise<Uint8Array | undefined> {
  try {
    const raw = await nvReadAll(tpm, index, { ...o, maxSize: 8192 });
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

/**
 * Finds the EK of the chosen kind. For each candidate kind (see EkChoice) it reads the certificate from NV;
 * the first kind with a certificate wins (or the first kind when none has one). The EK itself is the
 * persistent one when a persistent handle holds a key of the template's type whose key matches the
 * certificate; otherwise it is re-created from the template (CreatePrimary, flushed before returning).
 * Throws EkCertificateMismatchError when the certificate certifies neither (fails closed). A certificate
 * that Node cannot parse is passed on unchecked (the server's EK certificate check decides).
 */
export async function readEk(tpm: TpmSender, choice: EkChoice = 'auto', o: CallOptions = {}): Promise<EkInfo> {
  const kinds = ORDER[choice];
  if (!kinds) throw new RangeError(`unknown EK choice "${choice}" (auto, rsa, ecc, rsa2048, ecc-p256, ecc-p384)`);
  let picked: { kind: EkKind; cert?: Uint8Array } | undefined;
  for (const kind of kinds) {
    const cert = await readCert(tpm, EK_PROFILES[kind].certIndex, o);
    if (cert) {
      picked = { kind, cert };
      break;
    }
  }
  picked ??= { kind: kinds[0] };
  const profile = EK_PROFILES[picked.kind];
  const template = profile.template();

  for (const handle of profile.persistentHandles) {
    let found;
    try {
      found = (await execute(tpm, TPM2_ReadPublic, { handles: { objectHandle: handle }, params: {}, signal: o.signal }))
        .params;
    } catch (e) {
      if (e instanceof TpmError && e.is(TPM_RC_HANDLE)) continue;
      throw e;
    }
    if (!sameKeyType(found.outPublic.value, template)) continue;
    if (picked.cert && certMatchesPublic(picked.cert, found.outPublic.value) === false) continue;
    return {
      kind: picked.kind,
      public: found.outPublic,
      name: found.name,
      certificate: picked.cert,
      certIndex: profile.certIndex,
      persistentHandle: handle,
    };
  }

  const created = await createEk(tpm, template, o);
  try {
    // Fail closed: a certificate for another key would only fail later, on the server, less clearly.
    if (picked.cert && certMatchesPublic(picked.cert, created.params.outPublic.value) === false) {
      throw new EkCertificateMismatchError(picked.kind, profile.certIndex, profile.profileTemplate);
    }
    return {
      kind: picked.kind,
      public: created.params.outPublic,
      name: created.params.name,
      certificate: picked.cert,
      certIndex: profile.certIndex,
    };
  } finally {
    await flushQuietly(tpm, created.handle);
  }
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
 * Runs `fn` with the EK loaded and authorized, then releases everything it created (the transient EK, the
 * policy session) on every path. The authorization follows the EK's attributes: a policy session satisfying
 * PolicySecret(TPM_RH_ENDORSEMENT) when userWithAuth is clear, an empty password otherwise.
 */
export async function withEkHandle<T>(
  tpm: TpmSender,
  ek: EkInfo,
  fn: (ek: AuthHandle) => Promise<T>,
  o: CallOptions = {},
): Promise<T> {
  let transient: number | undefined;
  let session: number | undefined;
  try {
    let handle = ek.persistentHandle;
    if (handle === undefined) {
      const created = await createEk(tpm, EK_PROFILES[ek.kind].template(), o);
      transient = created.handle;
      handle = created.handle;
      if (Buffer.compare(Buffer.from(created.params.name), Buffer.from(ek.name)) !== 0) {
        throw new Error(`EK ${ek.kind}: re-created EK has a different Name than the one read before`);
      }
    }
    let auth: AuthSession;
    if (ek.public.value.objectAttributes & C.TPMA_OBJECT_userWithAuth) {
      auth = passwordAuth();
    } else {
      const s = await execute(tpm, TPM2_StartAuthSession, {
        handles: UNBOUND_SESSION,
        params: policySessionParams({ hashAlg: ek.public.value.nameAlg }),
        signal: o.signal,
      });
      session = s.handle;
      await execute(tpm, TPM2_PolicySecret, {
        handles: { authHandle: C.TPM_RH_ENDORSEMENT, policySession: session },
        params: POLICY_SECRET_PARAMS,
        signal: o.signal,
      });
      auth = policyAuth(session, C.TPMA_SESSION_continueSession);
    }
    return await fn({ handle, auth });
  } finally {
    await flushQuietly(tpm, session);
    await flushQuietly(tpm, transient);
  }
}
