// Public surface of tpm/: the agent-side client, the pieces it is built from, and the structures.
export { openTpm } from './client';
export type { TpmClient, TpmInfo, Quote, PcrBankSelection } from './client';
export { openTransport, parseTransportSpec, DEFAULT_TRANSPORT } from './transport/transport';
export type { TpmTransport, TransportOptions, TransportSpec, SendOptions } from './transport/transport';
export * from './errors';
export { readEk, withEkHandle, objectName, trimDer, certMatchesPublic, EkCertificateMismatchError } from './ek/ek';
export type { EkInfo, EkChoice } from './ek/ek';
export { EK_PROFILES, srkTemplate } from './ek/templates';
export type { EkKind, EkProfile } from './ek/templates';
export { loadOrCreateAk, loadAk, withAkHandle, withSrk, akTemplate, akPath } from './ak/ak';
export type { AkBlob, AkAlg, AkParent, LoadOrCreateAkOptions } from './ak/ak';
export * as commands from './commands';
export * as constants from './marshal/constants';
export * as types from './types';
export { marshal, unmarshal, TpmMarshalError } from './marshal/codec';
export { constantName, digestSize, nodeHashName } from './marshal/names';
export * as eventlog from './eventlog';
