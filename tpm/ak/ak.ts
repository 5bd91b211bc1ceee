// The attestation key (AK): a restricted signing key kept as a blob in the agent's data directory and
// re-loaded under the storage root key on each use.
//
// Why a blob and not a persistent handle: persistent NV slots are few (some TPMs have 7) and shared with
// the platform; EvictControl needs owner authorization the agent may not have; a persisted key outlives an
// uninstalled agent. The blob's private part is wrapped by the SRK, so it is useless away from this TPM, and
// the SRK is re-derived from its template each time (CreatePrimary is deterministic for a given owner seed).
// The SRK is ECC P-256 whatever the AK algorithm: deriving it is cheap, RSA primary generation is not.
// If the owner hierarchy is cleared the blob no longer loads, and a new AK is made.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as C from '../marshal/constants';
import { unmarshal } from '../marshal/codec';
import { TpmError } from '../errors';
import type { TpmTransport } from '../transport/transport';
import { TpmtPublic } from '../types';
import { create, createPrimary, flushQuietly, load, type CallOptions } from '../commands/operations';
import { objectName } from '../ek/ek';
import { srkTemplate } from '../ek/templates';

type Tpm = Pick<TpmTransport, 'send'>;

export type AkAlg = 'rsa' | 'ecc';

/** A restricted signing key: RSA-2048 RSASSA-SHA256 or ECC P-256 ECDSA-SHA256, SHA-256 nameAlg. */
export function akTemplate(alg: AkAlg): TpmtPublic {
  const attrs =
    C.TPMA_OBJECT_fixedTPM | C.TPMA_OBJECT_fixedParent | C.TPMA_OBJECT_sensitiveDataOrigin | C.TPMA_OBJECT_userWithAuth | C.TPMA_OBJECT_noDA | C.TPMA_OBJECT_restricted | C.TPMA_OBJECT_sign;
  const symmetric = { algorithm: C.TPM_ALG_NULL, keyBits: undefined, mode: undefined };
  if (alg === 'rsa') {
    return {
      type: C.TPM_ALG_RSA,
      nameAlg: C.TPM_ALG_SHA256,
      objectAttributes: attrs,
      authPolicy: new Uint8Array(),
      parameters: { symmetric, scheme: { scheme: C.TPM_ALG_RSASSA, details: { hashAlg: C.TPM_ALG_SHA256 } }, keyBits: 2048, exponent: 0 },
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
  public: TpmtPublic;
  /** Marshalled TPMT_PUBLIC (no size prefix). */
  publicBytes: Uint8Array;
  /** TPM2B_PRIVATE contents, wrapped by the SRK. */
  private: Uint8Array;
  /** TPM Name (SHA-256 nameAlg || digest of publicBytes). */
  name: Uint8Array;
  /** Where it is stored. */
  path: string;
}

const FILE_VERSION = 1;

function akPath(dataDir: string, alg: AkAlg): string {
  return join(dataDir, `tpm-ak-${alg}.json`);
}

async function readBlob(path: string, alg: AkAlg): Promise<AkBlob | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (text.length > 16384) throw new Error(`AK file ${path}: too large`);
  const j = JSON.parse(text) as { version?: number; alg?: string; public?: string; private?: string };
  if (j.version !== FILE_VERSION || j.alg !== alg || typeof j.public !== 'string' || typeof j.private !== 'string') {
    throw new Error(`AK file ${path}: not a version ${FILE_VERSION} ${alg} AK`);
  }
  const publicBytes = new Uint8Array(Buffer.from(j.public, 'base64'));
  const priv = new Uint8Array(Buffer.from(j.private, 'base64'));
  const pub = unmarshal(TpmtPublic, publicBytes);
  return { alg, public: pub, publicBytes, private: priv, name: objectName(pub.nameAlg, publicBytes), path };
}

async function writeBlob(blob: AkBlob): Promise<void> {
  const tmp = `${blob.path}.${process.pid}.tmp`;
  const body = JSON.stringify({
    version: FILE_VERSION,
    alg: blob.alg,
    parent: 'srk-ecc-p256',
    public: Buffer.from(blob.publicBytes).toString('base64'),
    private: Buffer.from(blob.private).toString('base64'),
  });
  await writeFile(tmp, body, { mode: 0o600 });
  await rename(tmp, blob.path);
}

/** Runs `fn` with the SRK (ECC P-256, owner hierarchy) loaded; flushes it on every path. */
export async function withSrk<T>(tpm: Tpm, fn: (srk: number) => Promise<T>, o: CallOptions = {}): Promise<T> {
  const srk = await createPrimary(tpm, C.TPM_RH_OWNER, srkTemplate('ecc'), o);
  try {
    return await fn(srk.handle);
  } finally {
    await flushQuietly(tpm, srk.handle);
  }
}

/** Runs `fn` with the AK loaded (under a freshly derived SRK); flushes both on every path. */
export async function withAkHandle<T>(tpm: Tpm, ak: AkBlob, fn: (handle: number) => Promise<T>, o: CallOptions = {}): Promise<T> {
  return withSrk(
    tpm,
    async (srk) => {
      const loaded = await load(tpm, srk, ak, o);
      try {
        if (Buffer.compare(Buffer.from(loaded.name), Buffer.from(ak.name)) !== 0) throw new Error(`AK ${ak.path}: TPM computed a different Name`);
        return await fn(loaded.handle);
      } finally {
        await flushQuietly(tpm, loaded.handle);
      }
    },
    o,
  );
}

/**
 * Loads the AK saved in `dataDir` (file tpm-ak-<alg>.json) and checks it still loads on this TPM; creates
 * and saves a new one when there is none, or when the saved one no longer loads (TPM cleared / replaced).
 * Returns the blob; no TPM handle stays loaded.
 */
export async function loadOrCreateAk(tpm: Tpm, dataDir: string, alg: AkAlg = 'rsa', o: CallOptions = {}): Promise<AkBlob & { created: boolean }> {
  if (alg !== 'rsa' && alg !== 'ecc') throw new RangeError(`unknown AK algorithm "${alg}" (rsa, ecc)`);
  const path = akPath(dataDir, alg);
  const saved = await readBlob(path, alg);
  if (saved) {
    try {
      await withAkHandle(tpm, saved, async () => undefined, o);
      return { ...saved, created: false };
    } catch (e) {
      // The blob was made under another SRK (owner cleared, other TPM): make a new AK. Other errors propagate.
      if (!(e instanceof TpmError) || e.warning) throw e;
    }
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const made = await withSrk(tpm, (srk) => create(tpm, srk, akTemplate(alg), o), o);
  const blob: AkBlob = {
    alg,
    public: made.public,
    publicBytes: made.publicBytes,
    private: made.private,
    name: objectName(made.public.nameAlg, made.publicBytes),
    path,
  };
  await writeBlob(blob);
  return { ...blob, created: true };
}
