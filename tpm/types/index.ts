// TPM 2.0 structures, declared once as codecs (TPM 2.0 Library Part 2).
export * from './basic';
export * from './pcr';
export * from './public';
export * from './attest';
export * from './signature';
export * from './tickets';
export * from './nv';
export * from './creation';
export * from './capability';
export * from './session';
