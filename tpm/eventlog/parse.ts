// Parsing of TCG PC Client event logs (PFP 1.05, 10.2): the SHA-1 legacy format and the crypto-agile format
// that opens with a legacy "Spec ID Event03" record followed by TCG_PCR_EVENT2 records.
import { createHash } from 'node:crypto';
import type { HashName } from '../crypto/hash';
import { hashInfo } from '../crypto/hash';
import { Reader, TpmMarshalError, unmarshal, type Codec, type CodecType } from '../marshal/codec';
import { EV_NO_ACTION, eventTypeName, SPEC_ID_EVENT03 } from './constants';
import { EventLogError } from './errors';
import { MAX_EVENT_LOG_BYTES, MAX_EVENTS } from './limits';
import { TcgEfiSpecIdEvent, tcgPcrEvent2, TcgPcClientPcrEvent } from './structures';

/** One record of the log, in log order. */
export interface LogEvent {
  /** Position in the log, 0 = first record (tpm2_eventlog's EventNum). */
  index: number;
  pcr: number;
  type: number;
  /** PFP name of `type` (e.g. `EV_SEPARATOR`), or its hex value. */
  typeName: string;
  /** Digests by bank; hash algorithms Node cannot compute (e.g. SM3) are kept only in `otherDigests`. */
  digests: Partial<Record<HashName, Uint8Array>>;
  /** Digests of algorithms that are not replayed, by TPM_ALG_ID. */
  otherDigests: ReadonlyMap<number, Uint8Array>;
  data: Uint8Array;
  /** Byte offset of the record in the log. */
  offset: number;
}

export type SpecIdEvent = CodecType<typeof TcgEfiSpecIdEvent>;

export interface EventLog {
  /** `crypto-agile`: Spec ID Event03 then TCG_PCR_EVENT2; `sha1`: TCG_PCClientPCREvent only. */
  format: 'crypto-agile' | 'sha1';
  /** The banks every event carries a digest for, in the header's order. */
  banks: HashName[];
  /** The Spec ID event of a crypto-agile log. */
  specId?: SpecIdEvent;
  /** All records, the Spec ID header included (as event 0, not extended). */
  events: LogEvent[];
}

/** Highest PCR an event may name (24 PCRs on a PC Client TPM). */
const MAX_PCR = 23;

function isSpecIdHeader(e: CodecType<typeof TcgPcClientPcrEvent>): boolean {
  return (
    e.eventType === EV_NO_ACTION &&
    e.event.length >= 16 &&
    Buffer.from(e.event.subarray(0, 16)).toString('latin1') === SPEC_ID_EVENT03
  );
}

// Decodes one record, turning codec errors into EVENT_LOG_MALFORMED that name the event and byte offset.
function record<T>(codec: Codec<T>, r: Reader, index: number): T {
  if (index >= MAX_EVENTS)
    throw new EventLogError('EVENT_LOG_TOO_LARGE', `event log has more than ${MAX_EVENTS} events`, {
      eventIndex: index,
    });
  const offset = r.offset;
  try {
    return codec.decode(r);
  } catch (e) {
    if (e instanceof EventLogError)
      throw new EventLogError(e.code, `event ${index}: ${e.message}`, { eventIndex: index }, { cause: e });
    if (e instanceof TpmMarshalError)
      throw new EventLogError(
        'EVENT_LOG_MALFORMED',
        `event ${index} (at byte ${offset}): ${e.message}`,
        { eventIndex: index },
        { cause: e },
      );
    throw e;
  }
}

// Windows logs carry EV_NO_ACTION records on PCR 0xFFFFFFFF; they extend nothing, so only extended events are held to 0..23.
function checkPcr(pcr: number, type: number, index: number): void {
  if (pcr > MAX_PCR && type !== EV_NO_ACTION)
    throw new EventLogError('EVENT_LOG_MALFORMED', `event ${index}: PCR index ${pcr} is above ${MAX_PCR}`, {
      eventIndex: index,
    });
}

function parseSpecId(data: Uint8Array): { specId: SpecIdEvent; sizes: Map<number, number>; banks: HashName[] } {
  let specId: SpecIdEvent;
  try {
    specId = unmarshal(TcgEfiSpecIdEvent, data);
  } catch (e) {
    throw new EventLogError(
      'EVENT_LOG_MALFORMED',
      `event 0: Spec ID event: ${(e as Error).message}`,
      { eventIndex: 0 },
      { cause: e },
    );
  }
  if (specId.digestSizes.length === 0)
    throw new EventLogError('EVENT_LOG_MALFORMED', 'event 0: Spec ID event declares no hash algorithm', {
      eventIndex: 0,
    });
  const sizes = new Map<number, number>();
  const banks: HashName[] = [];
  for (const { algorithmId, digestSize } of specId.digestSizes) {
    if (sizes.has(algorithmId))
      throw new EventLogError(
        'EVENT_LOG_MALFORMED',
        `event 0: Spec ID event declares algorithm 0x${algorithmId.toString(16)} twice`,
        { eventIndex: 0 },
      );
    const known = knownHash(algorithmId);
    if (known && known.size !== digestSize)
      throw new EventLogError(
        'EVENT_LOG_MALFORMED',
        `event 0: Spec ID event gives ${known.name} a digest size of ${digestSize}, not ${known.size}`,
        { eventIndex: 0 },
      );
    if (digestSize === 0 || digestSize > 64)
      throw new EventLogError(
        'EVENT_LOG_MALFORMED',
        `event 0: Spec ID event gives algorithm 0x${algorithmId.toString(16)} a digest size of ${digestSize}`,
        { eventIndex: 0 },
      );
    sizes.set(algorithmId, digestSize);
    if (known) banks.push(known.name);
  }
  return { specId, sizes, banks };
}

function knownHash(alg: number): { name: HashName; size: number } | undefined {
  try {
    return hashInfo(alg);
  } catch {
    return undefined;
  }
}

/**
 * Parses an untrusted TCG PC Client event log (e.g. /sys/kernel/security/tpm0/binary_bios_measurements).
 * Checks structure only: sizes, bounds (MAX_EVENT_LOG_BYTES, MAX_EVENTS, MAX_EVENT_DATA_BYTES, each checked
 * before allocating), PCR indices <= 23, and in a crypto-agile log that every event carries exactly one digest
 * per algorithm the Spec ID event declares. Does NOT check any digest: replay the log against quoted PCRs
 * (`verifyEventLog`) before believing anything in it. Throws EventLogError (EVENT_LOG_MALFORMED or
 * EVENT_LOG_TOO_LARGE) naming the event and byte offset.
 */
export function parseEventLog(bytes: Uint8Array): EventLog {
  if (bytes.length > MAX_EVENT_LOG_BYTES)
    throw new EventLogError(
      'EVENT_LOG_TOO_LARGE',
      `event log of ${bytes.length} bytes exceeds the maximum ${MAX_EVENT_LOG_BYTES}`,
    );
  if (bytes.length === 0) throw new EventLogError('EVENT_LOG_MALFORMED', 'event log is empty');
  const r = new Reader(bytes);
  const first = record(TcgPcClientPcrEvent, r, 0);
  const events: LogEvent[] = [];
  const legacy = (e: CodecType<typeof TcgPcClientPcrEvent>, index: number, offset: number): LogEvent => {
    checkPcr(e.pcrIndex, e.eventType, index);
    return {
      index,
      pcr: e.pcrIndex,
      type: e.eventType,
      typeName: eventTypeName(e.eventType),
      digests: { sha1: e.digest },
      otherDigests: new Map(),
      data: e.event,
      offset,
    };
  };
  if (!isSpecIdHeader(first)) {
    events.push(legacy(first, 0, 0));
    while (r.remaining > 0) {
      const offset = r.offset;
      events.push(legacy(record(TcgPcClientPcrEvent, r, events.length), events.length, offset));
    }
    return { format: 'sha1', banks: ['sha1'], events };
  }

  if (first.pcrIndex !== 0 || first.digest.some((b) => b !== 0))
    throw new EventLogError('EVENT_LOG_MALFORMED', 'event 0: the Spec ID event must be on PCR 0 with a zero digest', {
      eventIndex: 0,
    });
  const { specId, sizes, banks } = parseSpecId(first.event);
  events.push({ ...legacy(first, 0, 0), digests: {} });
  const codec = tcgPcrEvent2(sizes);
  while (r.remaining > 0) {
    const offset = r.offset;
    const index = events.length;
    const e = record(codec, r, index);
    checkPcr(e.pcrIndex, e.eventType, index);
    if (e.digests.length !== sizes.size)
      throw new EventLogError(
        'EVENT_LOG_MALFORMED',
        `event ${index}: carries ${e.digests.length} digests, the Spec ID event declares ${sizes.size} algorithms`,
        { eventIndex: index },
      );
    const digests: Partial<Record<HashName, Uint8Array>> = {};
    const otherDigests = new Map<number, Uint8Array>();
    for (const d of e.digests) {
      const known = knownHash(d.hashAlg);
      if ((known && digests[known.name]) || otherDigests.has(d.hashAlg))
        throw new EventLogError(
          'EVENT_LOG_MALFORMED',
          `event ${index}: two digests for algorithm 0x${d.hashAlg.toString(16)}`,
          { eventIndex: index },
        );
      if (known) digests[known.name] = d.digest;
      else otherDigests.set(d.hashAlg, d.digest);
    }
    events.push({
      index,
      pcr: e.pcrIndex,
      type: e.eventType,
      typeName: eventTypeName(e.eventType),
      digests,
      otherDigests,
      data: e.event,
      offset,
    });
  }
  return { format: 'crypto-agile', banks, specId, events };
}

/** Hash of `data` in `bank` (the digest an event whose rule is "digest = H(event data)" must carry). */
export function hashOf(bank: HashName, data: Uint8Array): Uint8Array {
  return createHash(bank).update(data).digest();
}
