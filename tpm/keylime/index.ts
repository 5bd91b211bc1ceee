// Keylime's quote-string format and the tpm2-tools PCR blob it carries.
export {
  encodeKeylimeQuote,
  keylimeQuoteString,
  parseKeylimeQuote,
  MAX_QUOTE_STRING_LENGTH,
  type KeylimeQuote,
} from './quote-string';
export {
  encodePcrBlob,
  parsePcrBlob,
  pcrBlobFromValues,
  pcrBlobToValues,
  MAX_PCR_BLOB_BYTES,
  type PcrBlob,
} from './pcr-blob';
export {
  parseKeylimeMbRefstate,
  MbRefstateError,
  MAX_MB_REFSTATE_BYTES,
  KEYLIME_EXAMPLE_POLICY_PCRS,
  type KeylimeMbRefstate,
} from './mb-refstate';
export { keylimeMbRefstateFromLog, MbRefstateFromLogError } from './mb-refstate-from-log';
export { keylimeUnreadableDevicePath } from './device-paths';
