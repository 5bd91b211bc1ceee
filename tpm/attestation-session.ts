// One attestation's TPM work, with each key loaded once: the EK (persistent, or created once and flushed
// at the end), the AK (persistent ak_handle, or loaded from its file once), every command counted. What an
// earlier attestation learnt (TPM facts, EK and its certificates, persistent AK) can be handed back in as
// `cached`: it is then only confirmed by ReadPublic (or one CreatePrimary for a template EK) and Name
// equality, and anything that differs or fails takes the full path.
import { TPM2_ActivateCredential, TPM2_Quote, TPM2_ReadPublic } from './commands/definitions';
import { countingSender, type CommandCounts } from './commands/counting';
import { execute, type CallOptions, type TpmSender } from './commands/execute';
import { flushQuietly } from './commands/flush';
import { NULL_SIG_SCHEME } from './commands/params';
import { pcrRead } from './commands/pcr-read';
import { unmarshal, type WithBytes } from './marshal/codec';
import * as C from './marshal/constants';
import type { TpmtPublic } from './types';
import { Tpm2bEncryptedSecret, Tpm2bIdObject } from './types/basic';
import type { PcrValues, TpmsPcrSelection } from './types/pcr';
import type { TpmsAttest } from './types/attest';
import type { TpmtSignature } from './types/signature';
import { hashInfo } from './crypto/hash';
import { pcrCompositeDigest } from './crypto/pcr-digest';
import { formatPcrSelection } from './types/pcr';
import { readEk, recreateEk, withEkAuth, type EkChoice, type FoundEk } from './ek/ek';
import { loadOrCreateAkLoaded, readPersistentAk, type AkAlg } from './ak/ak';

/** A TPM2_Quote answer: each part decoded, with its bytes exactly as the TPM returned them. */
export interface Quote {
  /** The TPMS_ATTEST; `bytes` is what the signature covers. */
  attest: WithBytes<TpmsAttest>;
  /** The TPMT_SIGNATURE. */
  signature: WithBytes<TpmtSignature>;
}

/** TPM2_Quote (Part 3 18.4) by the loaded AK at `signHandle`, `nonce` as qualifyingData (at most 64 bytes). */
export async function quoteWith(
  tpm: TpmSender,
  signHandle: number,
  nonce: Uint8Array,
  selection: readonly TpmsPcrSelection[],
  o: CallOptions = {},
): Promise<Quote> {
  if (nonce.length > 64) throw new RangeError(`quote nonce is ${nonce.length} bytes; at most 64`);
  if (!selection.length) throw new RangeError('empty PCR selection');
  const params = { qualifyingData: nonce, inScheme: NULL_SIG_SCHEME, PCRselect: [...selection] };
  const q = await execute(tpm, TPM2_Quote, { handles: { signHandle }, params, signal: o.signal });
  return { attest: q.params.quoted, signature: q.params.signature };
}

export interface AttestationSessionOptions extends CallOptions {
  ekChoice?: EkChoice;
  /** An EK certificate from a file, for a TPM without one in NV. */
  ekCertificate?: Uint8Array;
  /** Most CA certificates read from NV (0x01c00100-0x01c001ff), and the largest certificate read. */
  maxIntermediates?: number;
  maxCertificateBytes?: number;
  /** The AK: provisioned at a persistent handle, or kept as a file in `dataDir` (a child of the EK). */
  ak: { handle: number } | { dataDir: string; alg: AkAlg };
  /** Told when opening moves on to finding the EK, then the AK (so a caller can name the failed step). */
  onPhase?: (phase: 'ek' | 'ak') => void;
}

/** What one attestation learnt of the TPM's identity, for the next one to confirm instead of re-reading. */
export interface SessionIdentity<T> {
  /** What `before` returned (e.g. the TPM facts). */
  facts: T;
  /** The EK as found, its certificate and NV intermediates included (no TPM handle). */
  ek: Omit<FoundEk, 'transientHandle'>;
  /** The persistent AK (ak_handle) as read; the AK file is checked by loading it each time anyway. */
  ak?: { handle: number; public: WithBytes<TpmtPublic>; name: Uint8Array };
}

/** openAttestationSession's answer: the session, the facts, and the identity to cache for the next one. */
export interface OpenedSession<T> {
  session: AttestationSession;
  before: T;
  identity: SessionIdentity<T>;
  /** True when `cached` was confirmed and used; else `cacheMiss` says why it was not (when one was given). */
  fromCache: boolean;
  cacheMiss?: string;
}

/** The PCRs kept changing between the quote and the read of its values (a PCR extended meanwhile). */
export class PcrsChangingError extends Error {
  override readonly name = 'PcrsChangingError';
  constructor(
    readonly selection: string,
    readonly attempts: number,
  ) {
    super(`PCRs ${selection} changed between the quote and the PCR read in each of ${attempts} attempts`);
  }
}

/** The AK of a session: its public and Name, where it came from. */
export interface SessionAk {
  public: WithBytes<TpmtPublic>;
  name: Uint8Array;
  persistentHandle?: number;
  /** The AK file, and whether it was created by this session. */
  path?: string;
  created: boolean;
}

/** An open attestation: the keys stay loaded until close(), which releases what the session loaded. */
export interface AttestationSession {
  readonly ek: FoundEk;
  readonly ak: SessionAk;
  /** TPM2_ActivateCredential (Part 3 12.5) with marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET. */
  activateCredential(idObject: Uint8Array, encSecret: Uint8Array, o?: CallOptions): Promise<Uint8Array>;
  quote(nonce: Uint8Array, selection: readonly TpmsPcrSelection[], o?: CallOptions): Promise<Quote>;
  /**
   * Quotes, then reads the quoted PCRs once, and checks the read values' digest equals the quote's signed
   * pcrDigest; quotes and reads again when a PCR moved in between, `attempts` times in all, then throws
   * PcrsChangingError naming the selection. Returns the values that match the quote.
   */
  quoteAndRead(
    nonce: Uint8Array,
    selection: readonly TpmsPcrSelection[],
    attempts: number,
    o?: CallOptions,
  ): Promise<{ quote: Quote; pcrs: PcrValues; attempts: number }>;
  readPcrs(selection: readonly TpmsPcrSelection[], o?: CallOptions): Promise<PcrValues>;
  /** Commands sent through this session's sender so far (its opening included). */
  counts(): CommandCounts;
  /** Flushes the transient AK and EK (never persistent ones). Safe to call twice. */
  close(): Promise<void>;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

// ReadPublic of `handle`: whether it still holds the object of public `pub` and Name `name`.
async function holds(
  tpm: TpmSender,
  handle: number,
  pub: WithBytes<TpmtPublic>,
  name: Uint8Array,
  o: CallOptions,
): Promise<boolean> {
  const r = (await execute(tpm, TPM2_ReadPublic, { handles: { objectHandle: handle }, params: {}, signal: o.signal }))
    .params;
  return sameBytes(r.outPublic.bytes, pub.bytes) && sameBytes(r.name, name);
}

/**
 * Confirms a cached identity on the TPM: the persistent EK by ReadPublic (a template EK by re-creating it,
 * kept loaded), the persistent AK by ReadPublic, each compared byte for byte. Returns why not, having
 * flushed what it loaded, when anything differs or a command fails.
 */
async function confirmIdentity<T>(
  tpm: TpmSender,
  cached: SessionIdentity<T>,
  o: AttestationSessionOptions,
): Promise<{ ek: FoundEk; ak?: SessionIdentity<T>['ak'] } | string> {
  const wantAk = 'handle' in o.ak ? o.ak.handle : undefined;
  if (wantAk !== cached.ak?.handle) return 'the AK source changed';
  let transient: number | undefined;
  try {
    const ek = cached.ek;
    if (ek.persistentHandle !== undefined) {
      if (!(await holds(tpm, ek.persistentHandle, ek.public, ek.name, o)))
        return `persistent EK 0x${ek.persistentHandle.toString(16)} holds another key`;
    } else transient = await recreateEk(tpm, ek, o);
    if (cached.ak && !(await holds(tpm, cached.ak.handle, cached.ak.public, cached.ak.name, o))) {
      await flushQuietly(tpm, transient);
      return `ak_handle 0x${cached.ak.handle.toString(16)} holds another key`;
    }
    return { ek: { ...ek, transientHandle: transient }, ak: cached.ak };
  } catch (e) {
    await flushQuietly(tpm, transient);
    return `confirming it failed: ${(e as Error).message}`;
  }
}

/**
 * Opens an attestation on `tpm`. With `o.cached` (an earlier session's `identity`), confirms it
 * (confirmIdentity) and skips `before` and the EK search. Otherwise, or when it does not hold: runs
 * `before` first on the counting sender (e.g. the TPM facts read), finds the EK (readEk: persistent when
 * provisioned, else created once and kept loaded), then the AK (persistent, or loaded from its file under
 * that EK, created when absent). Every command goes through a counting sender (`counts()`). On failure
 * everything loaded so far is flushed before the error propagates.
 */
export async function openAttestationSession<T>(
  transport: TpmSender,
  o: AttestationSessionOptions & { cached?: SessionIdentity<T> },
  before: (tpm: TpmSender) => Promise<T>,
): Promise<OpenedSession<T>> {
  const tpm = countingSender(transport);
  let cacheMiss: string | undefined;
  let confirmed: { facts: T; ek: FoundEk; ak?: SessionIdentity<T>['ak'] } | undefined;
  if (o.cached) {
    const r = await confirmIdentity(tpm, o.cached, o);
    if (typeof r === 'string') cacheMiss = r;
    else confirmed = { facts: o.cached.facts, ...r };
  }
  const facts = confirmed ? confirmed.facts : await before(tpm);
  if (!confirmed) o.onPhase?.('ek');
  const ek =
    confirmed?.ek ??
    (await readEk(tpm, o.ekChoice ?? 'auto', {
      ...o,
      certificate: o.ekCertificate,
      keepLoaded: true,
    }));
  const ekHandle = ek.persistentHandle ?? ek.transientHandle!;
  let ak: SessionAk;
  let akHandle: number;
  let akTransient: number | undefined;
  try {
    o.onPhase?.('ak');
    if ('handle' in o.ak) {
      akHandle = o.ak.handle;
      const persistent = confirmed?.ak ?? (await readPersistentAk(tpm, akHandle, o));
      ak = { public: persistent.public, name: persistent.name, persistentHandle: akHandle, created: false };
    } else {
      const r = await loadOrCreateAkLoaded(
        tpm,
        o.ak.dataDir,
        o.ak.alg,
        { type: 'ek', ek },
        (fn) => withEkAuth(tpm, ek, ekHandle, fn, o),
        o,
      );
      akHandle = akTransient = r.handle;
      ak = { public: r.blob.public, name: r.blob.name, path: r.blob.path, created: r.created };
    }
  } catch (e) {
    await flushQuietly(tpm, ek.transientHandle);
    throw e;
  }
  const { transientHandle: _loaded, ...ekFound } = ek;
  const identity: SessionIdentity<T> = {
    facts,
    ek: ekFound,
    ak: ak.persistentHandle === undefined ? undefined : { handle: akHandle, public: ak.public, name: ak.name },
  };
  let closed = false;
  const session: AttestationSession = {
    ek,
    ak,
    async activateCredential(idObject, encSecret, co = {}) {
      const credentialBlob = unmarshal(Tpm2bIdObject, idObject);
      const secret = unmarshal(Tpm2bEncryptedSecret, encSecret);
      const r = await withEkAuth(
        tpm,
        ek,
        ekHandle,
        (keyHandle) =>
          execute(tpm, TPM2_ActivateCredential, {
            handles: { activateHandle: akHandle, keyHandle },
            params: { credentialBlob, secret },
            signal: co.signal,
          }),
        co,
      );
      return r.params.certInfo;
    },
    quote: (nonce, selection, co = {}) => quoteWith(tpm, akHandle, nonce, selection, co),
    async quoteAndRead(nonce, selection, attempts, co = {}) {
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const quote = await quoteWith(tpm, akHandle, nonce, selection, co);
        const pcrs = await session.readPcrs(selection, co);
        if (quotedValues(quote, pcrs)) return { quote, pcrs, attempts: attempt };
      }
      throw new PcrsChangingError(formatPcrSelection(selection), attempts);
    },
    readPcrs: async (selection, co = {}) => {
      if (!selection.length) throw new RangeError('empty PCR selection');
      return (await pcrRead(tpm, selection, co)).values;
    },
    counts: () => tpm.counts(),
    async close() {
      if (closed) return;
      closed = true;
      await flushQuietly(tpm, akTransient);
      await flushQuietly(tpm, ek.transientHandle);
    },
  };
  return { session, before: facts, identity, fromCache: confirmed !== undefined, cacheMiss };
}

// Whether `pcrs` are the values `quote` signed: the digest of its selection, by its signature's hash.
function quotedValues(quote: Quote, pcrs: PcrValues): boolean {
  const sig = quote.signature.value;
  if (sig.sigAlg !== C.TPM_ALG_RSASSA && sig.sigAlg !== C.TPM_ALG_RSAPSS && sig.sigAlg !== C.TPM_ALG_ECDSA)
    throw new RangeError(`quote signature algorithm 0x${sig.sigAlg.toString(16)} is not RSASSA, RSAPSS or ECDSA`);
  const attest = quote.attest.value;
  if (attest.type !== C.TPM_ST_ATTEST_QUOTE)
    throw new RangeError(`attest type 0x${attest.type.toString(16)} is not a quote`);
  const attested = attest.attested;
  const digest = pcrCompositeDigest(hashInfo(sig.signature.hash).name, attested.pcrSelect, pcrs);
  return digest !== undefined && sameBytes(digest, attested.pcrDigest);
}
