export { openTransport, parseTransportSpec, DEFAULT_TRANSPORT } from './transport';
export type { TpmTransport, TransportOptions, TransportSpec, SendOptions } from './transport';
