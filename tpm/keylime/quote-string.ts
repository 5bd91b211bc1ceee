// Keylime's quote string: "r" + base64(TPMS_ATTEST) + ":" + base64(TPMT_SIGNATURE) + ":" + base64(pcrblob).
import { TpmVerifyError } from '../verify/errors';
import { encodePcrBlob, MAX_PCR_BLOB_BYTES, parsePcrBlob, PcrBlob } from './pcr-blob';

/** Largest TPMS_ATTEST we accept (TPM2B_ATTEST's bound is sizeof(TPMS_ATTEST), well under this). */
export const MAX_ATTEST_BYTES = 2048;
/** Largest TPMT_SIGNATURE (RSA-4096 + header is 518 bytes). */
export const MAX_SIGNATURE_BYTES = 1024;
const b64Len = (n: number) => 4 * Math.ceil(n / 3);
/** Longest quote string accepted, checked before anything is decoded. */
export const MAX_QUOTE_STRING_LENGTH =
  1 + b64Len(MAX_ATTEST_BYTES) + 1 + b64Len(MAX_SIGNATURE_BYTES) + 1 + b64Len(MAX_PCR_BLOB_BYTES);

/** The three parts of a Keylime quote string. */
export interface KeylimeQuote {
  /** TPMS_ATTEST bytes as the TPM signed them (no TPM2B size prefix). */
  attest: Uint8Array;
  /** TPMT_SIGNATURE bytes. */
  signature: Uint8Array;
  /** The tpm2-tools PCR blob, decoded. */
  pcrBlob: PcrBlob;
}

function bad(message: string): TpmVerifyError {
  return new TpmVerifyError('KEYLIME_QUOTE_MALFORMED', `Keylime quote: ${message}`);
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decode(part: string, what: string, max: number): Uint8Array {
  if (part.length === 0) throw bad(`${what} is empty`);
  if (part.length > b64Len(max)) throw bad(`${what} is longer than ${max} bytes`);
  if (!B64.test(part)) throw bad(`${what} is not canonical base64`);
  return new Uint8Array(Buffer.from(part, 'base64'));
}

/** Builds the quote string Keylime's verifier expects in `quote`. */
export function encodeKeylimeQuote(quote: KeylimeQuote): string {
  return keylimeQuoteString(quote.attest, quote.signature, encodePcrBlob(quote.pcrBlob));
}

/** The quote string from already serialized parts (the pcrblob as tpm2-tools writes it), not re-checked. */
export function keylimeQuoteString(attest: Uint8Array, signature: Uint8Array, pcrBlob: Uint8Array): string {
  const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  return `r${b64(attest)}:${b64(signature)}:${b64(pcrBlob)}`;
}

/**
 * Parses a Keylime quote string (untrusted): the `r` prefix, exactly three canonical-base64 parts within
 * their size bounds, and a well-formed pcrblob. Does NOT decode or check the attest or signature: pass
 * them to `verifyQuote`. Throws TpmVerifyError KEYLIME_QUOTE_MALFORMED.
 */
export function parseKeylimeQuote(text: string): KeylimeQuote {
  if (typeof text !== 'string') throw bad('not a string');
  if (text.length > MAX_QUOTE_STRING_LENGTH)
    throw bad(`${text.length} characters exceeds the maximum ${MAX_QUOTE_STRING_LENGTH}`);
  if (text[0] !== 'r') throw bad(`must start with "r", starts with ${JSON.stringify(text.slice(0, 1))}`);
  const parts = text.slice(1).split(':');
  if (parts.length !== 3) throw bad(`needs 3 ":"-separated parts, has ${parts.length}`);
  const attest = decode(parts[0], 'attest', MAX_ATTEST_BYTES);
  const signature = decode(parts[1], 'signature', MAX_SIGNATURE_BYTES);
  const pcrBlob = parsePcrBlob(decode(parts[2], 'pcrblob', MAX_PCR_BLOB_BYTES));
  return { attest, signature, pcrBlob };
}
