// Public surface of tpm/ (the only file other folders import): the agent-side client, the pieces it is built
// from, the structures, and the server-side crypto and verification.
export { openTpm } from './client';
export type { TpmClient, TpmInfo, Quote } from './client';
export { PcrsChangingError } from './attestation-session';
export type {
  AttestationSession,
  AttestationSessionOptions,
  OpenedSession,
  SessionAk,
  SessionIdentity,
} from './attestation-session';
export type { CommandCounts } from './commands/counting';
export {
  MAX_PCR_INDEX,
  DEFAULT_PCR_SELECTION,
  formatPcrSelection,
  parsePcrSelection,
  pcrSelection,
  selectedPcrs,
  type PcrValues,
  type TpmsPcrSelection,
} from './types/pcr';
export { openTransport, parseTransportSpec, DEFAULT_TRANSPORT } from './transport/transport';
export type { TpmTransport, TransportOptions, TransportSpec, SendOptions } from './transport/transport';
export * from './errors';
export {
  readEk,
  withEkHandle,
  objectName,
  trimDer,
  certMatchesPublic,
  sameKeyType,
  EkCertificateMismatchError,
} from './ek/ek';
export type { EkInfo, EkChoice } from './ek/ek';
export { EK_PROFILES, srkTemplate } from './ek/templates';
export type { EkKind, EkProfile } from './ek/templates';
export { loadOrCreateAk, loadAk, withAkHandle, withSrk, akTemplate, akPath } from './ak/ak';
export type { AkBlob, AkAlg, AkParent, LoadOrCreateAkOptions } from './ak/ak';
export { AkStoreError, ensureAkDir, readStoreFile, replaceStoreFile } from './ak/store';
export * as commands from './commands';
export * as constants from './marshal/constants';
export * as types from './types';
export { marshal, unmarshal, tpm2b, TpmMarshalError } from './marshal/codec';
export { constantName } from './marshal/names';
export { createBytesCache, createLruCache, type BytesCache, type LruCache } from './lru-cache';
// What the server side and the verifiers use: crypto without a TPM, pure verification, Keylime's formats.
export * from './crypto';
export * from './verify';
export * from './keylime';
export * as eventlog from './eventlog';
