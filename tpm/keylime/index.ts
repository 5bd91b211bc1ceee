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
