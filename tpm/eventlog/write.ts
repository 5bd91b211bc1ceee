// Encoding event logs with the same codecs that parse them: for test-made logs (and tools that write a log).
import type { HashName } from '../crypto/hash';
import { hashAlgId, hashSize } from '../crypto/hash';
import { marshal, Writer } from '../marshal/codec';
import { EV_NO_ACTION, eventTypeName, SPEC_ID_EVENT03 } from './constants';
import { hashOf, type EventLog, type LogEvent, type SpecIdEvent } from './parse';
import { tcgPcrEvent2, TcgEfiSpecIdEvent, TcgPcClientPcrEvent } from './structures';

/**
 * Encodes a log in its format: the records in order, the Spec ID header from `specId` (crypto-agile), each
 * TCG_PCR_EVENT2's digests in the header's algorithm order. `encodeEventLog(parseEventLog(b))` returns `b`.
 */
export function encodeEventLog(log: EventLog): Uint8Array {
  const w = new Writer();
  if (log.format === 'sha1') {
    for (const e of log.events)
      TcgPcClientPcrEvent.encode(w, {
        pcrIndex: e.pcr,
        eventType: e.type,
        digest: e.digests.sha1 ?? new Uint8Array(20),
        event: e.data,
      });
    return w.finish();
  }
  if (!log.specId) throw new Error('a crypto-agile log needs its Spec ID event');
  const header = log.events[0];
  TcgPcClientPcrEvent.encode(w, {
    pcrIndex: 0,
    eventType: EV_NO_ACTION,
    digest: new Uint8Array(20),
    event: header?.data ?? marshal(TcgEfiSpecIdEvent, log.specId),
  });
  const sizes = new Map(log.specId.digestSizes.map((d) => [d.algorithmId, d.digestSize]));
  const codec = tcgPcrEvent2(sizes);
  const names = new Map<number, HashName>(log.banks.map((b) => [hashAlgId(b), b]));
  for (const e of log.events.slice(1)) {
    const digests = log.specId.digestSizes.map(({ algorithmId }) => {
      const bank = names.get(algorithmId);
      const digest = bank ? e.digests[bank] : e.otherDigests.get(algorithmId);
      if (!digest) throw new Error(`event ${e.index} has no digest for algorithm 0x${algorithmId.toString(16)}`);
      return { hashAlg: algorithmId, digest };
    });
    codec.encode(w, { pcrIndex: e.pcr, eventType: e.type, digests, event: e.data });
  }
  return w.finish();
}

/** One event of `createEventLog`: digests default to the hash of `data` in each bank (PFP's usual rule). */
export interface NewEvent {
  pcr: number;
  type: number;
  data: Uint8Array;
  digests?: Partial<Record<HashName, Uint8Array>>;
}

/** A crypto-agile log (Spec ID Event03 for `banks`) or, for `banks: ['sha1']` with `legacy`, a SHA-1 log. */
export function createEventLog(options: { banks: HashName[]; events: NewEvent[]; legacy?: boolean }): EventLog {
  const { banks } = options;
  const toEvent = (e: NewEvent, index: number): LogEvent => ({
    index,
    pcr: e.pcr,
    type: e.type,
    typeName: eventTypeName(e.type),
    digests: Object.fromEntries(
      banks.map((b) => [
        b,
        e.digests?.[b] ?? (e.type === EV_NO_ACTION ? new Uint8Array(hashSize(b)) : hashOf(b, e.data)),
      ]),
    ),
    otherDigests: new Map(),
    data: e.data,
    offset: 0,
  });
  if (options.legacy) {
    if (banks.length !== 1 || banks[0] !== 'sha1') throw new Error('a legacy log has the sha1 bank only');
    return { format: 'sha1', banks, events: options.events.map(toEvent) };
  }
  const specId: SpecIdEvent = {
    signature: new Uint8Array(Buffer.from(SPEC_ID_EVENT03, 'latin1')),
    platformClass: 0,
    specVersionMinor: 0,
    specVersionMajor: 2,
    specErrata: 0,
    uintnSize: 2,
    digestSizes: banks.map((b) => ({ algorithmId: hashAlgId(b), digestSize: hashSize(b) })),
    vendorInfo: new Uint8Array(0),
  };
  const header: LogEvent = {
    ...toEvent({ pcr: 0, type: EV_NO_ACTION, data: marshal(TcgEfiSpecIdEvent, specId) }, 0),
    digests: {},
  };
  return {
    format: 'crypto-agile',
    banks,
    specId,
    events: [header, ...options.events.map((e, i) => toEvent(e, i + 1))],
  };
}
