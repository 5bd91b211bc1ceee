// The agent-side TPM API: open a TPM by transport spec, read its identity (EK), keep an AK, activate a
// credential, quote PCRs. No TPM handle outlives a call: each call loads what it needs and flushes it.
import * as C from './marshal/constants';
import { constantName } from './marshal/names';
import { openTransport, type TpmTransport, type TransportOptions } from './transport/transport';
import { getHandles, getPcrBanks, getProperties } from './commands/capability';
import { TPM2_ActivateCredential } from './commands/definitions';
import { execute, type CallOptions, type TpmSender } from './commands/execute';
import {
  openAttestationSession,
  quoteWith,
  type AttestationSessionOptions,
  type OpenedSession,
  type Quote,
  type SessionIdentity,
} from './attestation-session';
import { pcrRead } from './commands/pcr-read';
import { selectedPcrs, type PcrValues, type TpmsPcrSelection } from './types/pcr';
import { Tpm2bEncryptedSecret, Tpm2bIdObject } from './types/basic';
import { unmarshal } from './marshal/codec';
import { readEk as discoverEk, withEkHandle, type EkChoice, type EkInfo } from './ek/ek';
import {
  loadOrCreateAk as akLoadOrCreate,
  withAkHandle,
  type AkAlg,
  type AkBlob,
  type LoadOrCreateAkOptions,
} from './ak/ak';

export interface TpmInfo {
  /** TPM_PT_MANUFACTURER as its 4 ASCII characters (trailing NULs/spaces trimmed), e.g. "IBM". */
  manufacturer: string;
  manufacturerId: number;
  /** TPM_PT_VENDOR_STRING_1..4 concatenated, trimmed. */
  vendor: string;
  /** TPM_PT_FIRMWARE_VERSION_1 and _2 as "hi.lo.hi.lo" (16-bit parts). */
  firmwareVersion: string;
  /** Spec family ("2.0"), level and revision (e.g. 1.59 reported as 159). */
  family: string;
  level: number;
  revision: number;
  /** Allocated PCR banks with their PCRs (empty banks are omitted). */
  pcrBanks: { hash: number; hashName: string; pcrs: number[] }[];
}

export type { Quote } from './attestation-session';

export interface TpmClient {
  readonly transport: TpmTransport;
  /** Manufacturer, vendor strings, firmware version and PCR banks. */
  getInfo(o?: CallOptions): Promise<TpmInfo>;
  /** Finds the EK (certificate from NV, persistent or template-created key); see ek/ek.ts readEk. Default `auto`. */
  readEk(alg?: EkChoice, o?: CallOptions): Promise<EkInfo>;
  /**
   * The AK saved in `dataDir`, created (and saved) when absent or no longer loadable. Default `rsa`, parent
   * the EK (`options.ek`, else the EK readEk('auto') finds); `parent: 'srk'` for an owner-hierarchy AK
   * (its quotes carry obfuscated firmwareVersion/resetCount/restartCount; see tpm/ak/ak.ts).
   */
  loadOrCreateAk(dataDir: string, alg?: AkAlg, options?: LoadOrCreateAkOptions): Promise<AkBlob & { created: boolean }>;
  /**
   * TPM2_ActivateCredential: recovers the secret a verifier sealed to (`ak` Name, `ek`) with MakeCredential.
   * `idObject` is a marshalled TPM2B_ID_OBJECT and `encSecret` a TPM2B_ENCRYPTED_SECRET, size prefixes
   * included (as tpm/crypto makeCredential returns them and tpm2_makecredential writes them); both are
   * bounds-checked (TpmMarshalError) before anything reaches the TPM.
   */
  activateCredential(
    ak: AkBlob,
    ek: EkInfo,
    idObject: Uint8Array,
    encSecret: Uint8Array,
    o?: CallOptions,
  ): Promise<Uint8Array>;
  /** TPM2_Quote over `selection` with `nonce` as qualifyingData (at most 64 bytes), signed by the AK's own scheme. */
  quote(ak: AkBlob, nonce: Uint8Array, selection: readonly TpmsPcrSelection[], o?: CallOptions): Promise<Quote>;
  /** Reads PCR values (all of them, even beyond 8 per command), banks in selection order; sha1/sha256/sha384/sha512 banks only. */
  readPcrs(selection: readonly TpmsPcrSelection[], o?: CallOptions): Promise<PcrValues>;
  /**
   * Opens one attestation (see attestation-session.ts): reads the TPM facts, finds the EK and the AK and
   * keeps them loaded until `session.close()`; every command is counted. `cached`, an earlier attestation's
   * `identity`, is confirmed by ReadPublic and used instead of reading facts, NV and handles again.
   */
  beginAttestation(
    options: AttestationSessionOptions & { cached?: SessionIdentity<TpmInfo> },
  ): Promise<Omit<OpenedSession<TpmInfo>, 'before'> & { info: TpmInfo }>;
  /** Counts of loaded transient objects and loaded sessions (HMAC and policy), e.g. for a leak check. */
  loadedCounts(o?: CallOptions): Promise<{ transient: number; sessions: number }>;
  close(): Promise<void>;
}

function nonEmpty(sel: readonly TpmsPcrSelection[]): readonly TpmsPcrSelection[] {
  if (!sel.length) throw new RangeError('empty PCR selection');
  return sel;
}

function ascii(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b.toString('latin1');
}

/** Manufacturer, vendor strings, firmware version and PCR banks (TPM2_GetCapability). */
async function readInfo(t: TpmSender, o: CallOptions): Promise<TpmInfo> {
  const p = await getProperties(
    t,
    C.TPM_PT_FAMILY_INDICATOR,
    C.TPM_PT_FIRMWARE_VERSION_2 - C.TPM_PT_FAMILY_INDICATOR + 1,
    o,
  );
  const get = (k: number) => p.get(k) ?? 0;
  const vendor = [
    C.TPM_PT_VENDOR_STRING_1,
    C.TPM_PT_VENDOR_STRING_2,
    C.TPM_PT_VENDOR_STRING_3,
    C.TPM_PT_VENDOR_STRING_4,
  ]
    .map((k) => ascii(get(k)))
    .join('')
    .replace(/[\0\s]+$/g, '')
    .replace(/\0/g, '');
  const fw1 = get(C.TPM_PT_FIRMWARE_VERSION_1) >>> 0;
  const fw2 = get(C.TPM_PT_FIRMWARE_VERSION_2) >>> 0;
  const banks = (await getPcrBanks(t, o))
    .map((b) => ({
      hash: b.hash,
      hashName: constantName('TPM_ALG_', b.hash).replace('TPM_ALG_', '').toLowerCase(),
      pcrs: selectedPcrs(b),
    }))
    .filter((b) => b.pcrs.length > 0);
  return {
    manufacturer: ascii(get(C.TPM_PT_MANUFACTURER)).replace(/[\0\s]+$/g, ''),
    manufacturerId: get(C.TPM_PT_MANUFACTURER) >>> 0,
    vendor,
    firmwareVersion: `${fw1 >>> 16}.${fw1 & 0xffff}.${fw2 >>> 16}.${fw2 & 0xffff}`,
    family: ascii(get(C.TPM_PT_FAMILY_INDICATOR)).replace(/\0+$/g, ''),
    level: get(C.TPM_PT_LEVEL),
    revision: get(C.TPM_PT_REVISION),
    pcrBanks: banks,
  };
}

/** Opens a TPM by transport spec (`device:/dev/tpmrm0` by default; see openTransport for the syntax). */
export function openTpm(spec?: string, options: TransportOptions = {}): TpmClient {
  const t = openTransport(spec, options);
  return {
    transport: t,

    getInfo: (o = {}) => readInfo(t, o),

    readEk: (alg = 'auto', o = {}) => discoverEk(t, alg, o),

    async loadOrCreateAk(dataDir, alg = 'rsa', o = {}) {
      const parent = o.parent ?? 'ek';
      const ek = parent === 'ek' ? (o.ek ?? (await discoverEk(t, 'auto', o))) : undefined;
      return akLoadOrCreate(t, dataDir, alg, { ...o, parent, ek });
    },

    async activateCredential(ak, ek, idObject, encSecret, o = {}) {
      const credentialBlob = unmarshal(Tpm2bIdObject, idObject);
      const secret = unmarshal(Tpm2bEncryptedSecret, encSecret);
      const r = await withAkHandle(
        t,
        ak,
        (activateHandle) =>
          withEkHandle(
            t,
            ek,
            (keyHandle) =>
              execute(t, TPM2_ActivateCredential, {
                handles: { activateHandle, keyHandle },
                params: { credentialBlob, secret },
                signal: o.signal,
              }),
            o,
          ),
        o,
      );
      return r.params.certInfo;
    },

    quote: (ak, nonce, selection, o = {}) =>
      withAkHandle(t, ak, (signHandle) => quoteWith(t, signHandle, nonce, selection, o), o),

    async beginAttestation(options) {
      const { before, ...r } = await openAttestationSession(t, options, (counted) => readInfo(counted, options));
      return { ...r, info: before };
    },

    async readPcrs(selection, o = {}) {
      return (await pcrRead(t, nonEmpty(selection), o)).values;
    },

    async loadedCounts(o = {}) {
      const transient = (await getHandles(t, C.HR_TRANSIENT, o)).length;
      const sessions = (await getHandles(t, C.HR_LOADED_SESSION, o)).length;
      return { transient, sessions };
    },

    close: () => t.close(),
  };
}
