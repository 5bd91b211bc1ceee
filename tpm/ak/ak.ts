// The attestation key (AK): a restricted signing key kept as a blob in the agent's data directory and
// re-loaded on each use. No TPM handle outlives a call.
//
// Why a blob and not a persistent handle: persistent NV slots are few (some TPMs have 7) and shared with
// the platform; EvictControl needs owner authorization the agent may not have; a persisted key outlives an
// uninstalled agent. The blob's private part is wrapped by its parent, so it is useless away from this TPM.
//
// Parent: the EK by default (as tpm2_createak and Keylime's agent do). A TPM obfuscates a quote's
// firmwareVersion, resetCount and restartCount when the signing key is outside the endorsement and platform
// hierarchies (Part 3 18.1 / Part 1 36.7), so an AK under the owner-hierarchy SRK signs meaningless values
// there; under the EK they are real, and the quote's qualifiedSigner chains the AK to that EK's Name. The
// cost: each load under an EK whose userWithAuth is clear needs a PolicySecret session. `parent: 'srk'`
// (an ECC P-256 SRK re-derived in the owner hierarchy; cheap) remains for callers that do not need those
// fields. If the hierarchy's seed changes (TPM cleared) the blob no longer loads, and a new AK is made.
import { join } from 'node:path';
import * as C from '../marshal/constants';
import { unmarshal, withBytes, type WithBytes } from '../marshal/codec';
import { TpmError } from '../errors';
import { TpmtPublic } from '../types';
import { TPM2_Create, TPM2_CreatePrimary, TPM2_Load, TPM2_ReadPublic } from '../commands/definitions';
import { execute, type AuthHandle, type CallOptions, type TpmSender } from '../commands/execute';
import { flushQuietly } from '../commands/flush';
import { keyCreateParams } from '../commands/params';
import { objectName, withEkHandle, type EkInfo } from '../ek/ek';
import { srkTemplate } from '../ek/templates';
import { ensureAkDir, readStoreFile, replaceStoreFile } from './store';

export type AkAlg = 'rsa' | 'ecc';

/** Where the AK lives: under the EK (endorsement hierarchy), or under an ECC P-256 SRK (owner hierarchy). */
export type AkParent = { type: 'ek'; ek: EkInfo } | { type: 'srk' };

/** A restricted signing key: RSA-2048 RSASSA-SHA256 or ECC P-256 ECDSA-SHA256, SHA-256 nameAlg. */
export function akTemplate(alg: AkAlg): TpmtPublic {
  const attrs =
    C.TPMA_OBJECT_fixedTPM |
    C.TPMA_OBJECT_fixedParent |
    C.TPMA_OBJECT_sensitiveDataOrigin |
    C.TPMA_OBJECT_userWithAuth |
    C.TPMA_OBJECT_noDA |
    C.TPMA_OBJECT_restricted |
    C.TPMA_OBJECT_sign;
  const symmetric = { algorithm: C.TPM_ALG_NULL, keyBits: undefined, mode: undefined };
  if (alg === 'rsa') {
    return {
      type: C.TPM_ALG_RSA,
      nameAlg: C.TPM_ALG_SHA256,
      objectAttributes: attrs,
      authPolicy: new Uint8Array(),
      parameters: {
        symmetric,
        scheme: { scheme: C.TPM_ALG_RSASSA, details: { hashAlg: C.TPM_ALG_SHA256 } },
        keyBits: 2048,
        exponent: 0,
      },
      unique: new Uint8Array(),
    };
  }
  return {
    type: C.TPM_ALG_ECC,
    nameAlg: C.TPM_ALG_SHA256,
    objectAttributes: attrs,
    authPolicy: new Uint8Array(),
    parameters: {
      symmetric,
      scheme: { scheme: C.TPM_ALG_ECDSA, details: { hashAlg: C.TPM_ALG_SHA256 } },
      curveID: C.TPM_ECC_NIST_P256,
      kdf: { scheme: C.TPM_ALG_NULL, details: undefined },
    },
    unique: { x: new Uint8Array(), y: new Uint8Array() },
  };
}

/** An AK as stored: holds no TPM handle (`withAkHandle` loads it when needed). */
export interface AkBlob {
  alg: AkAlg;
  parent: AkParent;
  /** The TPMT_PUBLIC with its marshalled bytes (no size prefix). */
  public: WithBytes<TpmtPublic>;
  /** TPM2B_PRIVATE contents, wrapped by the parent. */
  private: Uint8Array;
  /** TPM Name (SHA-256 nameAlg || digest of public.bytes). */
  name: Uint8Array;
  /** Where it is stored. */
  path: string;
}

const FILE_VERSION = 1;
const SRK_PARENT = 'srk-ecc-p256';

/** The AK file for `alg` and `parent` in `dataDir` (an EK-child AK's name carries 8 bytes of the EK Name digest). */
export function akPath(dataDir: string, alg: AkAlg, parent: AkParent): string {
  if (parent.type === 'srk') return join(dataDir, `tpm-ak-${alg}.json`);
  return join(dataDir, `tpm-ak-${alg}-ek-${Buffer.from(parent.ek.name.subarray(2, 10)).toString('hex')}.json`);
}

const MAX_AK_FILE_BYTES = 16 * 1024;

async function readBlob(path: string, alg: AkAlg, parent: AkParent): Promise<AkBlob | undefined> {
  // Bounded before it is read: an AK file is a few hundred bytes.
  const text = await readStoreFile(path, MAX_AK_FILE_BYTES, 'AK file');
  if (text === undefined) return undefined;
  const j = JSON.parse(text) as { version?: number; alg?: string; parent?: string; public?: string; private?: string };
  const wantParent = parent.type === 'ek' ? 'ek' : SRK_PARENT;
  if (
    j.version !== FILE_VERSION ||
    j.alg !== alg ||
    j.parent !== wantParent ||
    typeof j.public !== 'string' ||
    typeof j.private !== 'string'
  ) {
    throw new Error(`AK file ${path}: not a version ${FILE_VERSION} ${alg} AK with parent ${wantParent}`);
  }
  const pub = unmarshal(withBytes(TpmtPublic), new Uint8Array(Buffer.from(j.public, 'base64')));
  const priv = new Uint8Array(Buffer.from(j.private, 'base64'));
  return { alg, parent, public: pub, private: priv, name: objectName(pub.value.nameAlg, pub.bytes), path };
}

async function writeBlob(blob: AkBlob): Promise<void> {
  const body = JSON.stringify({
    version: FILE_VERSION,
    alg: blob.alg,
    parent: blob.parent.type === 'ek' ? 'ek' : SRK_PARENT,
    public: Buffer.from(blob.public.bytes).toString('base64'),
    private: Buffer.from(blob.private).toString('base64'),
  });
  await replaceStoreFile(blob.path, body, 'AK file');
}

/** Runs `fn` with the SRK (ECC P-256, owner hierarchy, re-derived from its template) loaded; flushes it on every path. */
export async function withSrk<T>(tpm: TpmSender, fn: (srk: number) => Promise<T>, o: CallOptions = {}): Promise<T> {
  const srk = (
    await execute(tpm, TPM2_CreatePrimary, {
      handles: { primaryHandle: C.TPM_RH_OWNER },
      params: keyCreateParams(srkTemplate('ecc')),
      signal: o.signal,
    })
  ).handle;
  try {
    return await fn(srk);
  } finally {
    await flushQuietly(tpm, srk);
  }
}

/** Runs `fn` with the AK's parent loaded and authorized; releases the parent (and its session) on every path. */
async function withParent<T>(
  tpm: TpmSender,
  parent: AkParent,
  fn: (parent: number | AuthHandle) => Promise<T>,
  o: CallOptions,
): Promise<T> {
  if (parent.type === 'ek') return withEkHandle(tpm, parent.ek, fn, o);
  return withSrk(tpm, fn, o);
}

// TPM2_Load (Part 3 12.2) of a saved blob under its loaded parent; inPublic goes verbatim as saved.
async function loadUnder(tpm: TpmSender, parentHandle: number | AuthHandle, ak: AkBlob, o: CallOptions) {
  const r = await execute(tpm, TPM2_Load, {
    handles: { parentHandle },
    params: { inPrivate: ak.private, inPublic: ak.public },
    signal: o.signal,
  });
  return { handle: r.handle, name: r.params.name };
}

/**
 * Loads the AK and returns its transient handle; the caller flushes it. The parent is released as soon as
 * the AK is loaded (a loaded object does not need its parent), so at most the AK stays in a TPM slot.
 */
export async function loadAk(tpm: TpmSender, ak: AkBlob, o: CallOptions = {}): Promise<number> {
  const handle = await withParent(tpm, ak.parent, async (parent) => (await loadUnder(tpm, parent, ak, o)).handle, o);
  return handle;
}

/** Runs `fn` with the AK loaded; flushes it (and everything used to load it) on every path. */
export async function withAkHandle<T>(
  tpm: TpmSender,
  ak: AkBlob,
  fn: (handle: number) => Promise<T>,
  o: CallOptions = {},
): Promise<T> {
  const handle = await loadAk(tpm, ak, o);
  try {
    return await fn(handle);
  } finally {
    await flushQuietly(tpm, handle);
  }
}

export interface LoadOrCreateAkOptions extends CallOptions {
  /** The AK's parent (default: the EK given in `ek`). */
  parent?: 'ek' | 'srk';
  /** The EK to create the AK under (required for parent 'ek'). */
  ek?: EkInfo;
}

/** Runs one command with the AK's parent loaded and authorized (e.g. withParent bound to a parent). */
export type ParentScope = <T>(fn: (parent: number | AuthHandle) => Promise<T>) => Promise<T>;

/**
 * Loads the AK saved at `path` under its parent (through `scope`) and checks its Name; creates, saves and
 * loads a new one when there is none, or when the saved one no longer loads (TPM cleared or replaced).
 * Returns the blob and the loaded AK's transient handle, which the caller flushes.
 */
export async function loadOrCreateAkLoaded(
  tpm: TpmSender,
  dataDir: string,
  alg: AkAlg,
  parent: AkParent,
  scope: ParentScope,
  o: CallOptions = {},
): Promise<{ blob: AkBlob; handle: number; created: boolean }> {
  if (alg !== 'rsa' && alg !== 'ecc') throw new RangeError(`unknown AK algorithm "${alg}" (rsa, ecc)`);
  const path = akPath(dataDir, alg, parent);
  const load = (blob: AkBlob) =>
    scope(async (p) => {
      const loaded = await loadUnder(tpm, p, blob, o);
      if (Buffer.compare(Buffer.from(loaded.name), Buffer.from(blob.name)) !== 0) {
        await flushQuietly(tpm, loaded.handle);
        throw new Error(`AK file ${path}: the TPM computes a different Name`);
      }
      return loaded.handle;
    });
  const saved = await readBlob(path, alg, parent);
  if (saved) {
    try {
      return { blob: saved, handle: await load(saved), created: false };
    } catch (e) {
      // Made under another seed (hierarchy cleared, other TPM): make a new AK. Other errors propagate.
      if (!(e instanceof TpmError) || e.warning) throw e;
    }
  }
  await ensureAkDir(dataDir);
  const made = (
    await scope((parentHandle) =>
      execute(tpm, TPM2_Create, {
        handles: { parentHandle },
        params: keyCreateParams(akTemplate(alg)),
        signal: o.signal,
      }),
    )
  ).params;
  const blob: AkBlob = {
    alg,
    parent,
    public: made.outPublic,
    private: made.outPrivate,
    name: objectName(made.outPublic.value.nameAlg, made.outPublic.bytes),
    path,
  };
  await writeBlob(blob);
  return { blob, handle: await load(blob), created: true };
}

/**
 * Loads the AK saved in `dataDir` (see akPath) and checks it still loads and has the expected Name; creates
 * and saves a new one when there is none, or when the saved one no longer loads under its parent (TPM
 * cleared or replaced). Returns the blob; no TPM handle stays loaded.
 */
export async function loadOrCreateAk(
  tpm: TpmSender,
  dataDir: string,
  alg: AkAlg = 'rsa',
  o: LoadOrCreateAkOptions = {},
): Promise<AkBlob & { created: boolean }> {
  const kind = o.parent ?? 'ek';
  if (kind === 'ek' && !o.ek) throw new RangeError('an EK-child AK needs the EK (options.ek)');
  const parent: AkParent = kind === 'ek' ? { type: 'ek', ek: o.ek! } : { type: 'srk' };
  const r = await loadOrCreateAkLoaded(tpm, dataDir, alg, parent, (fn) => withParent(tpm, parent, fn, o), o);
  await flushQuietly(tpm, r.handle);
  return { ...r.blob, created: r.created };
}

/** The AK attributes: a restricted signing key fixed to this TPM, whose private part the TPM made. */
const AK_ATTRS =
  C.TPMA_OBJECT_fixedTPM |
  C.TPMA_OBJECT_fixedParent |
  C.TPMA_OBJECT_sensitiveDataOrigin |
  C.TPMA_OBJECT_restricted |
  C.TPMA_OBJECT_sign;

/**
 * The AK provisioned at persistent `handle` (the agent's ak_handle): its public and Name (TPM2_ReadPublic).
 * Throws naming the handle when it holds no restricted signing key fixed to the TPM, or one that also
 * decrypts. The server checks the same attributes again.
 */
export async function readPersistentAk(
  tpm: TpmSender,
  handle: number,
  o: CallOptions = {},
): Promise<{ public: WithBytes<TpmtPublic>; name: Uint8Array }> {
  const r = (await execute(tpm, TPM2_ReadPublic, { handles: { objectHandle: handle }, params: {}, signal: o.signal }))
    .params;
  const attrs = r.outPublic.value.objectAttributes;
  if ((attrs & AK_ATTRS) !== AK_ATTRS || attrs & C.TPMA_OBJECT_decrypt)
    throw new Error(
      `persistent AK 0x${handle.toString(16)}: not a restricted signing key fixed to this TPM (objectAttributes 0x${attrs.toString(16)})`,
    );
  return { public: r.outPublic, name: r.name };
}
