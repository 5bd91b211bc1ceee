// One attestation's TPM work, with each key loaded once: the EK (persistent, or created once and flushed
// at the end), the AK (persistent ak_handle, or loaded from its file once), every command counted.
import { TPM2_ActivateCredential, TPM2_Quote } from './commands/definitions';
import { countingSender, type CommandCounts } from './commands/counting';
import { execute, type CallOptions, type TpmSender } from './commands/execute';
import { flushQuietly } from './commands/flush';
import { NULL_SIG_SCHEME } from './commands/params';
import { pcrRead } from './commands/pcr-read';
import { unmarshal, type WithBytes } from './marshal/codec';
import type { TpmtPublic } from './types';
import { Tpm2bEncryptedSecret, Tpm2bIdObject } from './types/basic';
import type { PcrValues, TpmsPcrSelection } from './types/pcr';
import type { TpmsAttest } from './types/attest';
import type { TpmtSignature } from './types/signature';
import { readEk, withEkAuth, type EkChoice, type FoundEk } from './ek/ek';
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
  readPcrs(selection: readonly TpmsPcrSelection[], o?: CallOptions): Promise<PcrValues>;
  /** Commands sent through this session's sender so far (its opening included). */
  counts(): CommandCounts;
  /** Flushes the transient AK and EK (never persistent ones). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens an attestation on `tpm`: finds the EK (readEk: persistent when provisioned, else created once and
 * kept loaded), then the AK (persistent, or loaded from its file under that EK, created when absent).
 * Every command goes through a counting sender (`counts()`); `before` runs first on that sender (e.g. the
 * TPM facts read). On failure everything loaded so far is flushed before the error propagates.
 */
export async function openAttestationSession<T>(
  transport: TpmSender,
  o: AttestationSessionOptions,
  before: (tpm: TpmSender) => Promise<T>,
): Promise<{ session: AttestationSession; before: T }> {
  const tpm = countingSender(transport);
  const first = await before(tpm);
  o.onPhase?.('ek');
  const ek = await readEk(tpm, o.ekChoice ?? 'auto', {
    ...o,
    certificate: o.ekCertificate,
    keepLoaded: true,
  });
  const ekHandle = ek.persistentHandle ?? ek.transientHandle!;
  let ak: SessionAk;
  let akHandle: number;
  let akTransient: number | undefined;
  try {
    o.onPhase?.('ak');
    if ('handle' in o.ak) {
      akHandle = o.ak.handle;
      ak = { ...(await readPersistentAk(tpm, akHandle, o)), persistentHandle: akHandle, created: false };
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
  return { session, before: first };
}
