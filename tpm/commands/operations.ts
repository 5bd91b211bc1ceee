// Typed helpers over execute(): one function per command, plus the loops some commands need
// (NV_Read in chunks, PCR_Read until every requested PCR is read, GetCapability until moreData is clear).
import { randomBytes } from 'node:crypto';
import * as C from '../marshal/constants';
import { TpmError } from '../errors';
import { constantName } from '../marshal/names';
import type { TpmTransport } from '../transport/transport';
import type { PublicWithBytes, TpmsNvPublic, TpmsPcrSelection, TpmtPublic, TpmtSigScheme, TpmsAttest, TpmtSignature, TpmsTaggedProperty } from '../types';
import { pcrSelection, selectedPcrs, type PcrValues } from '../types/pcr';
import { hashInfo } from '../crypto/hash';
import * as D from './definitions';
import { execute, passwordAuth, policyAuth, type AuthSession } from './execute';

type Tpm = Pick<TpmTransport, 'send'>;
export interface CallOptions {
  signal?: AbortSignal;
}

/** TPM2_GetCapability for one page. */
export async function getCapability(tpm: Tpm, capability: number, property: number, propertyCount: number, o: CallOptions = {}) {
  const r = await execute(tpm, D.TPM2_GetCapability, { params: { capability, property, propertyCount }, signal: o.signal });
  return r.params;
}

/**
 * All handles of the type of `first` (e.g. HR_TRANSIENT, HR_PERSISTENT, HR_NV_INDEX). HR_LOADED_SESSION lists
 * every loaded session, HMAC (0x02..) and policy (0x03..) alike (Part 2 7.2); HR_SAVED_SESSION (0x03..)
 * lists context-saved sessions only.
 */
export async function getHandles(tpm: Tpm, first: number, o: CallOptions = {}): Promise<number[]> {
  const type = first >>> 24;
  const accept = (h: number) => (h >>> 24 === type || (type === C.TPM_HT_LOADED_SESSION && h >>> 24 === C.TPM_HT_POLICY_SESSION)) && h >= first;
  const out: number[] = [];
  let next = first;
  for (let page = 0; page < 64; page++) {
    const r = await getCapability(tpm, C.TPM_CAP_HANDLES, next, 254, o);
    const handles = (r.capabilityData.data as number[]).filter(accept);
    out.push(...handles);
    const last = handles[handles.length - 1];
    // Paging continues after the last handle only within the queried type (a loaded policy session's
    // handle lies in the saved-session range, which lists something else).
    if (!r.moreData || last === undefined || last >>> 24 !== type) break;
    next = last + 1;
  }
  return out;
}

/** TPM properties (TPM_CAP_TPM_PROPERTIES) from `first`, up to `count`. */
export async function getProperties(tpm: Tpm, first: number, count: number, o: CallOptions = {}): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  let next = first;
  while (out.size < count) {
    const r = await getCapability(tpm, C.TPM_CAP_TPM_PROPERTIES, next, count - out.size, o);
    const props = r.capabilityData.data as TpmsTaggedProperty[];
    for (const p of props) out.set(p.property, p.value);
    if (!r.moreData || props.length === 0) break;
    next = props[props.length - 1].property + 1;
  }
  return out;
}

/** One TPM property value, or undefined if the TPM does not report it. */
export async function getProperty(tpm: Tpm, property: number, o: CallOptions = {}): Promise<number | undefined> {
  const m = await getProperties(tpm, property, 1, o);
  return m.get(property);
}

/** Allocated PCR banks (TPM_CAP_PCRS). */
export async function getPcrBanks(tpm: Tpm, o: CallOptions = {}): Promise<TpmsPcrSelection[]> {
  const r = await getCapability(tpm, C.TPM_CAP_PCRS, 0, 1, o);
  return r.capabilityData.data as TpmsPcrSelection[];
}

export interface ReadPublicResult {
  public: TpmtPublic;
  /** The marshalled TPMT_PUBLIC exactly as the TPM returned it. */
  publicBytes: Uint8Array;
  name: Uint8Array;
  qualifiedName: Uint8Array;
}

/** TPM2_ReadPublic of a loaded or persistent object. */
export async function readPublic(tpm: Tpm, handle: number, o: CallOptions = {}): Promise<ReadPublicResult> {
  const r = await execute(tpm, D.TPM2_ReadPublic, { handles: [handle], params: {}, signal: o.signal });
  return { public: r.params.outPublic.value, publicBytes: r.params.outPublic.bytes, name: r.params.name, qualifiedName: r.params.qualifiedName };
}

// Create and CreatePrimary take the same inputs here: the template, an empty TPM2B_SENSITIVE_CREATE (no
// userAuth, no data: the TPM generates the key), no outsideInfo, no creation PCRs.
function createParams(template: TpmtPublic) {
  return {
    inSensitive: { userAuth: new Uint8Array(), data: new Uint8Array() },
    inPublic: template,
    outsideInfo: new Uint8Array(),
    creationPCR: [],
  };
}

export interface CreatedPrimary {
  handle: number;
  public: TpmtPublic;
  publicBytes: Uint8Array;
  name: Uint8Array;
}

/** TPM2_CreatePrimary under `hierarchy` (TPM_RH_ENDORSEMENT/OWNER/...) with an empty hierarchy password by default. The caller flushes `handle`. */
export async function createPrimary(
  tpm: Tpm,
  hierarchy: number,
  template: TpmtPublic,
  o: CallOptions & { hierarchyAuth?: AuthSession } = {},
): Promise<CreatedPrimary> {
  const r = await execute(tpm, D.TPM2_CreatePrimary, {
    handles: [hierarchy],
    sessions: [o.hierarchyAuth ?? passwordAuth()],
    params: createParams(template),
    signal: o.signal,
  });
  return { handle: r.handle!, public: r.params.outPublic.value, publicBytes: r.params.outPublic.bytes, name: r.params.name };
}

export interface CreatedKey {
  /** TPM2B_PRIVATE contents (opaque, wrapped by the parent). */
  private: Uint8Array;
  public: TpmtPublic;
  publicBytes: Uint8Array;
}

/** TPM2_Create of an ordinary key under a loaded parent (parent authorized by `parentAuth`, empty password by default). */
export async function create(tpm: Tpm, parent: number, template: TpmtPublic, o: CallOptions & { parentAuth?: AuthSession } = {}): Promise<CreatedKey> {
  const r = await execute(tpm, D.TPM2_Create, {
    handles: [parent],
    sessions: [o.parentAuth ?? passwordAuth()],
    params: createParams(template),
    signal: o.signal,
  });
  return { private: r.params.outPrivate, public: r.params.outPublic.value, publicBytes: r.params.outPublic.bytes };
}

/** TPM2_Load of a key blob under `parent`. The caller flushes the returned handle. */
export async function load(
  tpm: Tpm,
  parent: number,
  blob: { private: Uint8Array; public: TpmtPublic; publicBytes: Uint8Array },
  o: CallOptions & { parentAuth?: AuthSession } = {},
): Promise<{ handle: number; name: Uint8Array }> {
  const r = await execute(tpm, D.TPM2_Load, {
    handles: [parent],
    sessions: [o.parentAuth ?? passwordAuth()],
    params: { inPrivate: blob.private, inPublic: { value: blob.public, bytes: blob.publicBytes } },
    signal: o.signal,
  });
  return { handle: r.handle!, name: r.params.name };
}

/** TPM2_EvictControl: persists `object` at `persistentHandle`, or evicts a persistent object when `object` is persistent. */
export async function evictControl(tpm: Tpm, object: number, persistentHandle: number, o: CallOptions & { auth?: number } = {}): Promise<void> {
  await execute(tpm, D.TPM2_EvictControl, {
    handles: [o.auth ?? C.TPM_RH_OWNER, object],
    params: { persistentHandle },
    signal: o.signal,
  });
}

/** TPM2_FlushContext. */
export async function flushContext(tpm: Tpm, handle: number, o: CallOptions = {}): Promise<void> {
  await execute(tpm, D.TPM2_FlushContext, { params: { flushHandle: handle }, signal: o.signal });
}

/** Flushes `handle`, swallowing errors (for finally blocks where the original error matters more). */
export async function flushQuietly(tpm: Tpm, handle: number | undefined): Promise<void> {
  if (handle === undefined) return;
  try {
    await flushContext(tpm, handle);
  } catch {
    // Already gone (e.g. the TPM restarted) or the TPM is unreachable: nothing more to do here.
  }
}

/** TPM2_NV_ReadPublic. */
export async function nvReadPublic(tpm: Tpm, index: number, o: CallOptions = {}): Promise<{ public: TpmsNvPublic; publicBytes: Uint8Array; name: Uint8Array }> {
  const r = await execute(tpm, D.TPM2_NV_ReadPublic, { handles: [index], params: {}, signal: o.signal });
  return { public: r.params.nvPublic.value, publicBytes: r.params.nvPublic.bytes, name: r.params.nvName };
}

/**
 * Reads a whole NV index in chunks of at most `chunkSize` (TPM_PT_NV_BUFFER_MAX, asked of the TPM when not
 * given). Authorizes with the index itself when TPMA_NV_AUTHREAD is set, else the owner; empty password.
 */
export async function nvReadAll(tpm: Tpm, index: number, o: CallOptions & { chunkSize?: number; maxSize?: number } = {}): Promise<Uint8Array> {
  const pub = (await nvReadPublic(tpm, index, o)).public;
  const size = pub.dataSize;
  if (o.maxSize !== undefined && size > o.maxSize) throw new RangeError(`NV index 0x${index.toString(16)}: ${size} bytes exceeds ${o.maxSize}`);
  const chunk = o.chunkSize ?? (await getProperty(tpm, C.TPM_PT_NV_BUFFER_MAX, o)) ?? 512;
  if (chunk <= 0) throw new RangeError('NV chunk size must be positive');
  const authHandle = pub.attributes & C.TPMA_NV_AUTHREAD ? index : C.TPM_RH_OWNER;
  const out = new Uint8Array(size);
  for (let off = 0; off < size; ) {
    const n = Math.min(chunk, size - off);
    const r = await execute(tpm, D.TPM2_NV_Read, { handles: [authHandle, index], params: { size: n, offset: off }, signal: o.signal });
    if (r.params.data.length !== n) throw new RangeError(`NV index 0x${index.toString(16)}: asked ${n} bytes at ${off}, got ${r.params.data.length}`);
    out.set(r.params.data, off);
    off += n;
  }
  return out;
}

/** Starts an unbound, unsalted policy session (SHA-256 unless `hashAlg`). The caller flushes it. */
export async function startPolicySession(tpm: Tpm, o: CallOptions & { hashAlg?: number; trial?: boolean } = {}): Promise<{ handle: number; nonceTPM: Uint8Array }> {
  const r = await execute(tpm, D.TPM2_StartAuthSession, {
    handles: [C.TPM_RH_NULL, C.TPM_RH_NULL],
    params: {
      nonceCaller: randomBytes(16),
      encryptedSalt: new Uint8Array(),
      sessionType: o.trial ? C.TPM_SE_TRIAL : C.TPM_SE_POLICY,
      symmetric: { algorithm: C.TPM_ALG_NULL, keyBits: undefined, mode: undefined },
      authHash: o.hashAlg ?? C.TPM_ALG_SHA256,
    },
    signal: o.signal,
  });
  return { handle: r.handle!, nonceTPM: r.params.nonceTPM };
}

/** TPM2_PolicySecret(authHandle) on a policy session; authHandle authorized by an empty password unless `auth`. */
export async function policySecret(tpm: Tpm, authHandle: number, session: number, o: CallOptions & { auth?: AuthSession } = {}): Promise<void> {
  await execute(tpm, D.TPM2_PolicySecret, {
    handles: [authHandle, session],
    sessions: [o.auth ?? passwordAuth()],
    params: { nonceTPM: new Uint8Array(), cpHashA: new Uint8Array(), policyRef: new Uint8Array(), expiration: 0 },
    signal: o.signal,
  });
}

/** TPM2_PolicyGetDigest. */
export async function policyGetDigest(tpm: Tpm, session: number, o: CallOptions = {}): Promise<Uint8Array> {
  return (await execute(tpm, D.TPM2_PolicyGetDigest, { handles: [session], params: {}, signal: o.signal })).params.policyDigest;
}

/** TPM2_ActivateCredential: returns the credential (certInfo) if the blob was made for this AK and EK. */
export async function activateCredential(
  tpm: Tpm,
  args: { activateHandle: number; keyHandle: number; activateAuth: AuthSession; keyAuth: AuthSession; credentialBlob: Uint8Array; secret: Uint8Array },
  o: CallOptions = {},
): Promise<Uint8Array> {
  const r = await execute(tpm, D.TPM2_ActivateCredential, {
    handles: [args.activateHandle, args.keyHandle],
    sessions: [args.activateAuth, args.keyAuth],
    params: { credentialBlob: args.credentialBlob, secret: args.secret },
    signal: o.signal,
  });
  return r.params.certInfo;
}

export interface SignedAttestation {
  /** The TPMS_ATTEST bytes exactly as signed. */
  attest: Uint8Array;
  /** Parsed view of `attest`. */
  attested: TpmsAttest;
  /** The marshalled TPMT_SIGNATURE. */
  signature: Uint8Array;
  signatureParsed: TpmtSignature;
}

const NULL_SCHEME: TpmtSigScheme = { scheme: C.TPM_ALG_NULL, details: undefined };

// Quote and Certify answer alike: a TPM2B_ATTEST and a TPMT_SIGNATURE, each kept as received and parsed.
function signedAttestation(attest: { value: TpmsAttest; bytes: Uint8Array }, signature: { value: TpmtSignature; bytes: Uint8Array }): SignedAttestation {
  return { attest: attest.bytes, attested: attest.value, signature: signature.bytes, signatureParsed: signature.value };
}

/** TPM2_Quote with `signHandle` (empty password), the key's own scheme unless `scheme`. */
export async function quote(
  tpm: Tpm,
  signHandle: number,
  qualifyingData: Uint8Array,
  selection: TpmsPcrSelection[],
  o: CallOptions & { scheme?: TpmtSigScheme; auth?: AuthSession } = {},
): Promise<SignedAttestation> {
  const r = await execute(tpm, D.TPM2_Quote, {
    handles: [signHandle],
    sessions: [o.auth ?? passwordAuth()],
    params: { qualifyingData, inScheme: o.scheme ?? NULL_SCHEME, PCRselect: selection },
    signal: o.signal,
  });
  return signedAttestation(r.params.quoted, r.params.signature);
}

/** TPM2_Certify: `signHandle` certifies that `objectHandle` is loaded in this TPM. */
export async function certify(
  tpm: Tpm,
  objectHandle: number,
  signHandle: number,
  qualifyingData: Uint8Array,
  o: CallOptions & { scheme?: TpmtSigScheme; objectAuth?: AuthSession; signAuth?: AuthSession } = {},
): Promise<SignedAttestation> {
  const r = await execute(tpm, D.TPM2_Certify, {
    handles: [objectHandle, signHandle],
    sessions: [o.objectAuth ?? passwordAuth(), o.signAuth ?? passwordAuth()],
    params: { qualifyingData, inScheme: o.scheme ?? NULL_SCHEME },
    signal: o.signal,
  });
  return signedAttestation(r.params.certifyInfo, r.params.signature);
}

export interface PcrReadResult {
  /** Values by bank (in request order) and PCR index. */
  values: PcrValues;
  /** pcrUpdateCounter of the last read (PCRs changed between reads if it moved; the read is retried). */
  updateCounter: number;
}

/**
 * TPM2_PCR_Read until every requested PCR has been read (a TPM returns at most 8 digests per call). If the
 * PCRs change between calls (pcrUpdateCounter moves), the whole read starts over (a few times). A bank this
 * project does not compute is refused (TpmCryptoError UNSUPPORTED_ALGORITHM) before anything is sent.
 */
export async function pcrRead(tpm: Tpm, selection: readonly TpmsPcrSelection[], o: CallOptions = {}): Promise<PcrReadResult> {
  const bankNames = selection.map((s) => hashInfo(s.hash).name);
  for (let attempt = 0; attempt < 5; attempt++) {
    const pending = selection.map((s) => ({ hash: s.hash, pcrs: new Set(selectedPcrs(s)), size: s.pcrSelect.length }));
    const banks = selection.map((): Record<number, Uint8Array> => ({}));
    let counter: number | undefined;
    let restarted = false;
    for (let guard = 0; guard < 64 && pending.some((p) => p.pcrs.size); guard++) {
      const req = pending.filter((p) => p.pcrs.size).map((p) => pcrSelection(p.hash, p.pcrs, p.size));
      const r = await execute(tpm, D.TPM2_PCR_Read, { params: { pcrSelectionIn: req }, signal: o.signal });
      if (counter !== undefined && r.params.pcrUpdateCounter !== counter) {
        restarted = true;
        break;
      }
      counter = r.params.pcrUpdateCounter;
      const digests = r.params.pcrValues;
      let i = 0;
      for (const out of r.params.pcrSelectionOut) {
        const idx = pending.findIndex((p) => p.hash === out.hash);
        for (const pcr of selectedPcrs(out)) {
          if (i >= digests.length) throw new RangeError('TPM2_PCR_Read: fewer digests than selected PCRs');
          if (idx < 0 || !pending[idx].pcrs.has(pcr)) throw new RangeError(`TPM2_PCR_Read: PCR ${pcr} returned but not requested`);
          banks[idx][pcr] = digests[i++];
          pending[idx].pcrs.delete(pcr);
        }
      }
      if (i !== digests.length) throw new RangeError('TPM2_PCR_Read: more digests than selected PCRs');
      if (i === 0) {
        const missing = pending.filter((p) => p.pcrs.size).map((p) => `${constantName('TPM_ALG_', p.hash)}:${[...p.pcrs].join(',')}`);
        throw new RangeError(`TPM2_PCR_Read: PCRs not available: ${missing.join(' ')}`);
      }
    }
    if (!restarted) return { values: Object.fromEntries(bankNames.map((name, k) => [name, banks[k]])), updateCounter: counter ?? 0 };
  }
  throw new RangeError('TPM2_PCR_Read: PCRs kept changing while being read');
}

/** TPM2_PCR_Extend of one PCR with one digest per bank (platform auth: empty password). */
export async function pcrExtend(tpm: Tpm, pcr: number, digests: { hashAlg: number; digest: Uint8Array }[], o: CallOptions = {}): Promise<void> {
  await execute(tpm, D.TPM2_PCR_Extend, { handles: [pcr], params: { digests }, signal: o.signal });
}

/** TPM2_GetRandom. */
export async function getRandom(tpm: Tpm, n: number, o: CallOptions = {}): Promise<Uint8Array> {
  return (await execute(tpm, D.TPM2_GetRandom, { params: { bytesRequested: n }, signal: o.signal })).params.randomBytes;
}

export { policyAuth, passwordAuth, TpmError };
export type { PublicWithBytes };
