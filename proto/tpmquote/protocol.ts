// The tpm_quote protocol (docs/protocol.md) around the generated tpmquote.v1 messages: the version, the
// size bounds, and decode-and-validate for each message. Both plugins use it, so what the agent sends and
// what the server accepts are stated once.
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import {
  AttestationChallengeSchema,
  AttestationPayloadSchema,
  ChallengeResponseSchema,
  ProtocolVersion,
  type AttestationChallenge,
  type AttestationPayload,
  type ChallengeResponse,
} from '../gen/tpmquote/v1/attestation_pb';
// Bank names and the PCR bound are tpm/'s (HASH_NAMES, MAX_PCR_INDEX): what a message may name is what the TPM code handles.
import { eventlog, isHashName, MAX_PCR_INDEX } from '../../tpm';

/** The protocol version both plugins speak (declared once, in the .proto). */
export const PROTOCOL_VERSION = ProtocolVersion.V1;

/** Bytes of the nonce and of the credential secret the server sends. */
export const NONCE_BYTES = 32;
export const SECRET_BYTES = 32;
/** Nonce sizes an agent accepts (TPM2_Quote's qualifyingData is a TPM2B_DATA of at most 64 bytes). */
export const MAX_NONCE_BYTES = 64;

/** Largest event log a response may carry (1 MiB; real logs are 10-200 KiB): the event-log parser's own bound. */
export const MAX_EVENT_LOG_BYTES = eventlog.MAX_EVENT_LOG_BYTES;
/**
 * Largest message accepted before decoding: a payload (an EK certificate is a few KiB), a response (~2 KiB of
 * quote and PCRs, plus an event log of up to MAX_EVENT_LOG_BYTES: 64 KiB + 1 MiB in all).
 */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_RESPONSE_BYTES = 64 * 1024 + MAX_EVENT_LOG_BYTES;
/** Most CA certificates a payload carries in ek_intermediates (Intel PTT keeps two or three in NV). */
export const MAX_EK_INTERMEDIATES = 8;
/** Largest certificate (EK or CA) an agent reads from NV or a file, and a payload's ek_intermediates entry. */
export const MAX_EK_CERTIFICATE_BYTES = 4096;

/** Largest challenge an agent accepts before decoding. */
export const MAX_CHALLENGE_BYTES = 16 * 1024;

/**
 * A tpm_quote message that is not what docs/protocol.md allows. `field` names it ("payload",
 * "challenge.nonce", "challenge_response.pcr_values"); `detail` says what was expected and found. The
 * plugins turn it into InvalidArgument.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** For plugin-sdk's error mapper (read structurally): InvalidArgument. */
  readonly failureClass = 'malformed';
  constructor(
    readonly field: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${detail}`, options);
  }
}

// Node-chosen names headed for an error message: bounded.
const quoted = (text: string): string => JSON.stringify(text.slice(0, 20));

/** A message's fields as its encoder takes them: everything but `version`, which the encoder stamps. */
type Fields<D extends DescMessage> = Omit<Exclude<MessageInitShape<D>, MessageShape<D>>, 'version' | '$typeName'>;

/** The agent's payload as sent, stamped with PROTOCOL_VERSION. */
export function encodePayload(fields: Fields<typeof AttestationPayloadSchema>): Uint8Array {
  return toBinary(AttestationPayloadSchema, create(AttestationPayloadSchema, { ...fields, version: PROTOCOL_VERSION }));
}

/** What the server puts in a challenge (the encoder stamps the version). */
export interface ChallengeFields {
  nonce: Uint8Array;
  credentialBlob: Uint8Array;
  encryptedSecret: Uint8Array;
  pcrSelection: ReadonlyArray<{ bank: string; pcrs: readonly number[] }>;
}

// Protobuf wire pieces for encodeChallenge: a tag is (field << 3 | wire type), 0 = varint, 2 = length-delimited.
const varintSize = (v: number): number => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5);
function putVarint(out: Uint8Array, at: number, v: number): number {
  while (v > 0x7f) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}
const fieldSize = (len: number): number => (len === 0 ? 0 : 1 + varintSize(len) + len);
function putField(out: Uint8Array, at: number, tag: number, bytes: Uint8Array): number {
  if (bytes.length === 0) return at; // proto3: an empty field is not written
  out[at] = tag;
  at = putVarint(out, at + 1, bytes.length);
  out.set(bytes, at);
  return at + bytes.length;
}
const utf8 = new TextEncoder();

/**
 * The server's challenge as sent, stamped with PROTOCOL_VERSION. Written straight into one sized buffer (it
 * is made at every attestation, and the reflective create + toBinary cost ~15x more), with the bytes toBinary
 * writes for the same fields: ascending field numbers, proto3 defaults left out, indices packed
 * (test/unit/proto/tpmquote/protocol.test.ts compares the two on random challenges).
 */
export function encodeChallenge(fields: ChallengeFields): Uint8Array {
  const selection = fields.pcrSelection;
  const names = selection.map((s) => utf8.encode(s.bank));
  const packedSize = (pcrs: readonly number[]) => pcrs.reduce((n, p) => n + varintSize(p), 0);
  const bodySize = (i: number) => fieldSize(names[i].length) + fieldSize(packedSize(selection[i].pcrs));
  let size = 2 + fieldSize(fields.nonce.length);
  size += fieldSize(fields.credentialBlob.length) + fieldSize(fields.encryptedSecret.length);
  for (let i = 0; i < selection.length; i++) size += 1 + varintSize(bodySize(i)) + bodySize(i); // even when empty
  const out = new Uint8Array(size);
  out[0] = (1 << 3) | 0;
  out[1] = PROTOCOL_VERSION; // 1: one varint byte
  let at = putField(out, 2, (2 << 3) | 2, fields.nonce);
  at = putField(out, at, (3 << 3) | 2, fields.credentialBlob);
  at = putField(out, at, (4 << 3) | 2, fields.encryptedSecret);
  for (let i = 0; i < selection.length; i++) {
    out[at] = (5 << 3) | 2;
    at = putVarint(out, at + 1, bodySize(i));
    at = putField(out, at, (1 << 3) | 2, names[i]);
    const packed = packedSize(selection[i].pcrs);
    if (packed > 0) {
      out[at] = (2 << 3) | 2;
      at = putVarint(out, at + 1, packed);
      for (const p of selection[i].pcrs) at = putVarint(out, at, p);
    }
  }
  return out;
}

/** The agent's response as sent, stamped with PROTOCOL_VERSION. */
export function encodeChallengeResponse(fields: Fields<typeof ChallengeResponseSchema>): Uint8Array {
  return toBinary(ChallengeResponseSchema, create(ChallengeResponseSchema, { ...fields, version: PROTOCOL_VERSION }));
}

/** Bounds, decodes and checks the version of one message; `field` names it in errors. */
function decode<D extends DescMessage>(field: string, schema: D, max: number, bytes: Uint8Array): MessageShape<D> {
  if (bytes.length === 0) throw new ProtocolError(field, 'empty');
  if (bytes.length > max) throw new ProtocolError(field, `${bytes.length} bytes exceeds the maximum ${max}`);
  let msg: MessageShape<D>;
  try {
    msg = fromBinary(schema, bytes);
  } catch (err) {
    throw new ProtocolError(field, `not a tpmquote.v1 ${schema.name}: ${(err as Error).message}`, { cause: err });
  }
  const version = (msg as { version?: number }).version;
  if (version !== PROTOCOL_VERSION)
    throw new ProtocolError(
      field,
      `version ${version} is not supported (this plugin speaks version ${PROTOCOL_VERSION})`,
    );
  return msg;
}

/**
 * Decodes the agent's payload: bounded by MAX_PAYLOAD_BYTES, version checked, at most MAX_EK_INTERMEDIATES
 * ek_intermediates of at most MAX_EK_CERTIFICATE_BYTES each. Does NOT parse the keys or the certificates
 * (the server's checks do, naming the field). Throws ProtocolError.
 */
export function parsePayload(bytes: Uint8Array): AttestationPayload {
  const payload = decode('payload', AttestationPayloadSchema, MAX_PAYLOAD_BYTES, bytes);
  const cas = payload.ekIntermediates;
  if (cas.length > MAX_EK_INTERMEDIATES)
    throw new ProtocolError('payload.ek_intermediates', `${cas.length} certificates (at most ${MAX_EK_INTERMEDIATES})`);
  const big = cas.findIndex((c) => c.length === 0 || c.length > MAX_EK_CERTIFICATE_BYTES);
  if (big >= 0)
    throw new ProtocolError(
      'payload.ek_intermediates',
      `certificate ${big} is ${cas[big].length} bytes (1-${MAX_EK_CERTIFICATE_BYTES} expected)`,
    );
  return payload;
}

/** A TPM2B field must be exactly one size-prefixed buffer. */
function checkTpm2b(field: string, bytes: Uint8Array): void {
  if (bytes.length < 2) throw new ProtocolError(field, `${bytes.length} bytes is not a TPM2B`);
  const size = (bytes[0] << 8) | bytes[1];
  if (size !== bytes.length - 2)
    throw new ProtocolError(field, `TPM2B size ${size} does not match its ${bytes.length - 2} bytes`);
}

/**
 * Decodes the server's challenge and checks it as docs/protocol.md states, before a TPM sees any of it:
 * a nonce of 1-MAX_NONCE_BYTES bytes; a PCR selection of known banks, each once, indices 0-MAX_PCR_INDEX
 * ascending without repeats (a repeat would be folded away by the TPM's selection bitmap while the values
 * sent kept it, so the server would refuse an honest node's quote); TPM2B framing of the credential.
 * Throws ProtocolError.
 */
export function parseChallenge(bytes: Uint8Array): AttestationChallenge {
  const challenge = decode('challenge', AttestationChallengeSchema, MAX_CHALLENGE_BYTES, bytes);
  const n = challenge.nonce.length;
  if (n === 0 || n > MAX_NONCE_BYTES)
    throw new ProtocolError('challenge.nonce', `${n} bytes (1-${MAX_NONCE_BYTES} expected)`);
  const field = 'challenge.pcr_selection';
  if (challenge.pcrSelection.length === 0) throw new ProtocolError(field, 'empty');
  const seen = new Set<string>();
  for (const s of challenge.pcrSelection) {
    if (!isHashName(s.bank)) throw new ProtocolError(field, `unknown bank ${quoted(s.bank)}`);
    if (seen.has(s.bank)) throw new ProtocolError(field, `bank ${s.bank} appears twice`);
    seen.add(s.bank);
    if (s.pcrs.length === 0 || s.pcrs.some((p) => p > MAX_PCR_INDEX))
      throw new ProtocolError(field, `${s.bank} needs PCR indices 0-${MAX_PCR_INDEX}`);
    if (s.pcrs.some((p, i) => i > 0 && p <= s.pcrs[i - 1])) {
      throw new ProtocolError(
        field,
        `${s.bank} PCR indices ${s.pcrs.slice(0, MAX_PCR_INDEX + 1).join(',')} are not ascending without repeats`,
      );
    }
  }
  checkTpm2b('challenge.credential_blob', challenge.credentialBlob);
  checkTpm2b('challenge.encrypted_secret', challenge.encryptedSecret);
  return challenge;
}

/**
 * Decodes the agent's response: bounded by MAX_RESPONSE_BYTES, its event log by MAX_EVENT_LOG_BYTES, version
 * checked. Its PCR values are checked
 * by checkResponsePcrValues, which the server runs after check 3 (credential activation). Throws
 * ProtocolError.
 */
export function parseChallengeResponse(bytes: Uint8Array): ChallengeResponse {
  const response = decode('challenge_response', ChallengeResponseSchema, MAX_RESPONSE_BYTES, bytes);
  if (response.eventLog.length > MAX_EVENT_LOG_BYTES)
    throw new ProtocolError(
      'challenge_response.event_log',
      `${response.eventLog.length} bytes exceeds the maximum ${MAX_EVENT_LOG_BYTES}`,
    );
  return response;
}

/**
 * Checks a response's PCR values are named by known banks, each bank once, indices 0-MAX_PCR_INDEX each once.
 * Does NOT compare them with the challenge or the quote (the server's checks do). Throws ProtocolError.
 */
export function checkResponsePcrValues(response: ChallengeResponse): void {
  const field = 'challenge_response.pcr_values';
  const banks = new Set<string>();
  for (const b of response.pcrValues) {
    if (!isHashName(b.bank)) throw new ProtocolError(field, `unknown bank ${quoted(b.bank)}`);
    if (banks.has(b.bank)) throw new ProtocolError(field, `bank ${b.bank} appears twice`);
    banks.add(b.bank);
    // Indices seen, one bit each (MAX_PCR_INDEX < 32): no set per bank per attestation.
    let indices = 0;
    for (const v of b.values) {
      if (v.index > MAX_PCR_INDEX)
        throw new ProtocolError(field, `PCR ${b.bank}:${v.index} is beyond ${MAX_PCR_INDEX}`);
      if (indices & (1 << v.index)) throw new ProtocolError(field, `PCR ${b.bank}:${v.index} appears twice`);
      indices |= 1 << v.index;
    }
  }
}
