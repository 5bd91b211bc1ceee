// The AK as a child of the EK (in the endorsement hierarchy, as tpm2_createak and Keylime's agent make it).
// Why not under the SRK: a TPM obfuscates a quote's firmwareVersion, resetCount and restartCount when the
// signing key is outside the endorsement and platform hierarchies (TPM 2.0 Part 3, 18.1), so an SRK-parented AK
// signs a meaningless firmware version. With the AK under the EK the quote's qualifiedSigner also proves, to
// the server, that the AK is this EK's child. Built from tpm/'s public pieces; see the report for the ask to
// move this into tpm/ak.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { akTemplate, type AkAlg } from "../tpm/ak/ak";
import { objectName, withEkHandle, type EkInfo } from "../tpm/ek/ek";
import { activateCredential, create, flushQuietly, load, policySecret, quote, type SignedAttestation } from "../tpm/commands/operations";
import { passwordAuth, type AuthSession } from "../tpm/commands/execute";
import * as C from "../tpm/marshal/constants";
import { TpmError } from "../tpm/errors";
import { parseTpmtPublic } from "../tpm/crypto/public-key";
import { pcrSelection } from "../tpm/types/pcr";
import type { TpmtPublic } from "../tpm/types/public";
import type { TpmTransport } from "../tpm/transport/transport";

type Tpm = Pick<TpmTransport, "send">;
interface O {
  signal?: AbortSignal;
}

/** An AK whose parent is the EK; holds no TPM handle. */
export interface EkAk {
  alg: AkAlg;
  public: TpmtPublic;
  /** TPMT_PUBLIC bytes as the TPM returned them. */
  publicBytes: Uint8Array;
  /** TPM2B_PRIVATE contents, wrapped by the EK (useless off this TPM). */
  private: Uint8Array;
  name: Uint8Array;
  path: string;
}

const FILE_VERSION = 1;

/** The file of the AK for this EK (the EK Name's first 8 bytes of digest tell EKs apart). */
export function ekAkPath(dataDir: string, alg: AkAlg, ek: EkInfo): string {
  return join(dataDir, `tpm-ak-${alg}-ek-${Buffer.from(ek.name.subarray(2, 10)).toString("hex")}.json`);
}

async function readBlob(path: string, alg: AkAlg): Promise<EkAk | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (text.length > 16 * 1024) throw new Error(`AK file ${path} is larger than 16 KiB`);
  const doc = JSON.parse(text) as { version?: number; alg?: string; parent?: string; public?: string; private?: string };
  if (doc.version !== FILE_VERSION || doc.alg !== alg || doc.parent !== "ek" || typeof doc.public !== "string" || typeof doc.private !== "string") {
    throw new Error(`AK file ${path} is not a version ${FILE_VERSION} ${alg} EK-child AK`);
  }
  const area = parseTpmtPublic(new Uint8Array(Buffer.from(doc.public, "base64")));
  return { alg, public: area.public, publicBytes: area.bytes, private: new Uint8Array(Buffer.from(doc.private, "base64")), name: objectName(area.public.nameAlg, area.bytes), path };
}

async function writeBlob(ak: EkAk): Promise<void> {
  const tmp = `${ak.path}.${process.pid}.tmp`;
  const body = JSON.stringify({
    version: FILE_VERSION,
    alg: ak.alg,
    parent: "ek",
    public: Buffer.from(ak.publicBytes).toString("base64"),
    private: Buffer.from(ak.private).toString("base64"),
  });
  await writeFile(tmp, body, { mode: 0o600 });
  await rename(tmp, ak.path);
}

/** An EK authorization that can be used once more (a policy session is re-satisfied; a password is reused). */
async function reauthorize(tpm: Tpm, auth: AuthSession, o: O): Promise<AuthSession> {
  if (auth.handle !== C.TPM_RS_PW) await policySecret(tpm, C.TPM_RH_ENDORSEMENT, auth.handle, o);
  return auth;
}

/**
 * Runs `fn` with the EK and the AK loaded (the AK under the EK); `ekAuth()` gives an EK authorization for one
 * more command. Flushes the AK (and withEkHandle the EK and its session) on every path.
 */
export async function withEkAk<T>(tpm: Tpm, ek: EkInfo, ak: EkAk, fn: (akHandle: number, ekHandle: number, ekAuth: () => Promise<AuthSession>) => Promise<T>, o: O = {}): Promise<T> {
  return withEkHandle(
    tpm,
    ek,
    async (ekHandle, auth) => {
      const loaded = await load(tpm, ekHandle, ak, { parentAuth: auth, signal: o.signal });
      try {
        if (Buffer.compare(Buffer.from(loaded.name), Buffer.from(ak.name)) !== 0) throw new Error(`AK ${ak.path}: TPM computed a different Name`);
        return await fn(loaded.handle, ekHandle, () => reauthorize(tpm, auth, o));
      } finally {
        await flushQuietly(tpm, loaded.handle);
      }
    },
    o,
  );
}

/**
 * Loads the AK kept in `dataDir` for this EK, checking it still loads; creates (under the EK) and saves a new
 * one when there is none or it no longer loads (EK re-created with another seed, TPM cleared). No TPM handle
 * stays loaded.
 */
export async function loadOrCreateEkAk(tpm: Tpm, ek: EkInfo, dataDir: string, alg: AkAlg, o: O = {}): Promise<EkAk & { created: boolean }> {
  const path = ekAkPath(dataDir, alg, ek);
  const saved = await readBlob(path, alg);
  if (saved) {
    try {
      await withEkAk(tpm, ek, saved, async () => undefined, o);
      return { ...saved, created: false };
    } catch (err) {
      if (!(err instanceof TpmError) || err.warning) throw err;
    }
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const made = await withEkHandle(tpm, ek, (ekHandle, auth) => create(tpm, ekHandle, akTemplate(alg), { parentAuth: auth, signal: o.signal }), o);
  const ak: EkAk = { alg, public: made.public, publicBytes: made.publicBytes, private: made.private, name: objectName(made.public.nameAlg, made.publicBytes), path };
  await writeBlob(ak);
  return { ...ak, created: true };
}

/** TPM2_ActivateCredential with the EK-child AK. `credentialBlob`/`secret` without their TPM2B size prefixes. */
export function activateWithEkAk(tpm: Tpm, ek: EkInfo, ak: EkAk, credentialBlob: Uint8Array, secret: Uint8Array, o: O = {}): Promise<Uint8Array> {
  return withEkAk(
    tpm,
    ek,
    ak,
    async (akHandle, ekHandle, ekAuth) =>
      activateCredential(tpm, { activateHandle: akHandle, keyHandle: ekHandle, activateAuth: passwordAuth(), keyAuth: await ekAuth(), credentialBlob, secret }, o),
    o,
  );
}

/** TPM2_Quote by the EK-child AK over `selection` (TPM_ALG_* hash + PCR indices), signed with the AK's scheme. */
export function quoteWithEkAk(tpm: Tpm, ek: EkInfo, ak: EkAk, nonce: Uint8Array, selection: Array<{ hash: number; pcrs: number[] }>, o: O = {}): Promise<SignedAttestation> {
  const sel = selection.map((s) => pcrSelection(s.hash, s.pcrs));
  return withEkAk(tpm, ek, ak, (akHandle) => quote(tpm, akHandle, nonce, sel, o), o);
}
