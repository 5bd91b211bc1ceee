// Each way a log can disagree with the quote, made from a real log (ubuntu-2404-amd-sevsnp.bin from
// go-eventlog) and the PCR values go-eventlog's extract_test.go verifies it with (sha256), plus the log's own
// sha1 replay as a second quoted bank. Every refusal asserts its code and the PCR / bank / event it names.
import {
  createEventLog,
  encodeEventLog,
  EV,
  EventLogError,
  extractBootFacts,
  MAX_EVENT_DATA_BYTES,
  MAX_EVENT_LOG_BYTES,
  MAX_EVENTS,
  parseEventLog,
  replayEventLog,
  verifyEventLog,
  type EventLog,
  type LogEvent,
} from '../../../../tpm/eventlog';
import { TpmVerifyError } from '../../../../tpm/verify/errors';
import type { PcrValues } from '../../../../tpm/types/pcr';
import { goEventlogExpectations, realEventLog } from '../../../helpers/go-testdata';
import { thrown } from '../../../helpers/thrown';

const original = parseEventLog(realEventLog('ubuntu-2404-amd-sevsnp.bin').bytes);
const quoted: PcrValues = {
  sha1: replayEventLog(original, ['sha1']).sha1,
  sha256: goEventlogExpectations().find((e) => e.log === 'ubuntu-2404-amd-sevsnp.bin')!.pcrs.sha256,
};

// A re-encoded and re-parsed copy with `edit` applied to its events (indices renumbered as a parser would).
function edited(edit: (events: LogEvent[]) => LogEvent[]): EventLog {
  const copy = (e: LogEvent): LogEvent => ({
    ...e,
    digests: Object.fromEntries(Object.entries(e.digests).map(([b, d]) => [b, new Uint8Array(d!)])),
    data: new Uint8Array(e.data),
  });
  const events = edit(original.events.map(copy));
  return parseEventLog(encodeEventLog({ ...original, events }));
}
const onPcr = (pcr: number, events: LogEvent[] = original.events): LogEvent[] =>
  events.filter((e) => e.pcr === pcr && e.type !== EV.EV_NO_ACTION);
const verify = (log: EventLog) => verifyEventLog({ log, pcrs: quoted });

test('the unmodified log verifies in both banks and yields facts (the baseline every refusal departs from)', () => {
  const v = verify(original);
  expect([...v.verified.sha256!].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14]);
  expect(extractBootFacts(v).kernelCmdline).toContain('vmlinuz-6.8.0-1010-gcp');
});

test('event edited (data changed, digests kept): replay still matches, the fact extractor refuses the event', () => {
  const target = onPcr(7).find((e) => e.type === EV.EV_EFI_VARIABLE_DRIVER_CONFIG)!;
  const log = edited((evs) => {
    evs[target.index].data[evs[target.index].data.length - 1] ^= 1;
    return evs;
  });
  const err = thrown(EventLogError, () => extractBootFacts(verify(log)));
  expect(err.code).toBe('EVENT_DATA_MISMATCH');
  expect(err.detail).toMatchObject({ eventIndex: target.index, pcr: 7 });
  expect(err.message).toMatch(
    new RegExp(
      `^event ${target.index} \\(EV_EFI_VARIABLE_DRIVER_CONFIG, PCR 7\\): UEFI_VARIABLE_DATA does not hash to its \\w+ digest$`,
    ),
  );
});

test('event edited (the kernel command line): refused naming the PCR 8 event', () => {
  const target = onPcr(8).find((e) => Buffer.from(e.data).toString('latin1').startsWith('kernel_cmdline: '))!;
  const log = edited((evs) => {
    evs[target.index].data = new Uint8Array(Buffer.from('kernel_cmdline: /vmlinuz init=/bin/sh\0', 'latin1'));
    return evs;
  });
  const err = thrown(EventLogError, () => extractBootFacts(verify(log)));
  expect(err.code).toBe('EVENT_DATA_MISMATCH');
  expect(err.detail).toMatchObject({ eventIndex: target.index, pcr: 8 });
});

test('event digest edited: the PCR no longer replays; the first bank checked (sha1) is named', () => {
  const target = onPcr(4)[1];
  const log = edited((evs) => {
    evs[target.index].digests.sha1![0] ^= 1;
    evs[target.index].digests.sha256![0] ^= 1;
    return evs;
  });
  const err = thrown(EventLogError, () => verify(log));
  expect(err.code).toBe('EVENT_LOG_PCR_MISMATCH');
  expect(err.detail).toMatchObject({ pcr: 4, bank: 'sha1', eventIndex: onPcr(4)[0].index });
});

test('wrong digest in one bank only (sha256): sha1 replays, sha256 is refused naming PCR and bank', () => {
  const target = onPcr(4)[1];
  const log = edited((evs) => {
    evs[target.index].digests.sha256![5] ^= 0x80;
    return evs;
  });
  expect(verifyEventLog({ log, pcrs: { sha1: quoted.sha1 } }).verified.sha1!.has(4)).toBe(true);
  const err = thrown(EventLogError, () => verify(log));
  expect(err.code).toBe('EVENT_LOG_PCR_MISMATCH');
  expect(err.detail).toMatchObject({ pcr: 4, bank: 'sha256' });
  expect(err.message).toMatch(/^PCR sha256:4: the replay of its \d+ events differs from the quoted value/);
});

test('event removed: refused on its PCR', () => {
  const target = onPcr(9)[1];
  const log = edited((evs) => evs.filter((e) => e.index !== target.index));
  const err = thrown(EventLogError, () => verify(log));
  expect(err.code).toBe('EVENT_LOG_PCR_MISMATCH');
  expect(err.detail).toMatchObject({ pcr: 9, bank: 'sha1' });
});

test('every event of a firmware PCR removed: refused, the quoted value is not the reset value (PCRs 0-7 are owned by the log)', () => {
  const log = edited((evs) => evs.filter((e) => e.pcr !== 7));
  const err = thrown(EventLogError, () => verify(log));
  expect(err.code).toBe('EVENT_LOG_PCR_MISMATCH');
  expect(err.detail).toEqual({ pcr: 7, bank: 'sha1' });
  expect(err.message).toBe(
    'PCR sha1:7: the log has no event for it, but the quoted value is not its reset value (its events were left out)',
  );
});

test("a quoted PCR outside 0-7 that the log never extends (IMA's PCR 10) is neither refused nor verified", () => {
  const v = verifyEventLog({ log: original, pcrs: { sha256: { ...quoted.sha256, 10: new Uint8Array(32).fill(7) } } });
  expect(v.verified.sha256!.has(10)).toBe(false);
  expect(v.verified.sha256!.has(7)).toBe(true);
});

test('malformed PCR values (a sha256 value of 20 bytes) are refused before any replay', () => {
  const err = thrown(TpmVerifyError, () =>
    verifyEventLog({ log: original, pcrs: { sha256: { 7: new Uint8Array(20) } } }),
  );
  expect(err.code).toBe('PCR_VALUES_MALFORMED');
});

test('events reordered on one PCR: refused on that PCR', () => {
  const [a, b] = onPcr(8).slice(0, 2);
  const log = edited((evs) => {
    [evs[a.index], evs[b.index]] = [evs[b.index], evs[a.index]];
    return evs;
  });
  const err = thrown(EventLogError, () => verify(log));
  expect(err.code).toBe('EVENT_LOG_PCR_MISMATCH');
  expect(err.detail).toMatchObject({ pcr: 8, bank: 'sha1', eventIndex: onPcr(8, log.events)[0].index });
});

test('event appended without extend: refused naming exactly the appended event (the prefix before it matches)', () => {
  const log = edited((evs) => [...evs, { ...evs[onPcr(9)[0].index], index: evs.length }]);
  const appended = log.events.length - 1;
  const err = thrown(EventLogError, () => verify(log));
  expect(err.code).toBe('EVENT_LOG_PCR_MISMATCH');
  expect(err.detail).toEqual({ pcr: 9, bank: 'sha1', eventIndex: appended });
  const n = onPcr(9).length;
  expect(err.message).toBe(
    `PCR sha1:9: the quoted value is the replay of the first ${n} of its ${n + 1} events; event ${appended} (EV_IPL) and the 0 after it on this PCR were not extended`,
  );
});

test('truncated inside a record: EVENT_LOG_MALFORMED naming the event; at a record boundary: the PCR mismatch', () => {
  const bytes = realEventLog('ubuntu-2404-amd-sevsnp.bin').bytes;
  const last = original.events[original.events.length - 1];
  const err = thrown(EventLogError, () => parseEventLog(bytes.subarray(0, last.offset + 10)));
  expect(err.code).toBe('EVENT_LOG_MALFORMED');
  expect(err.detail.eventIndex).toBe(last.index);
  expect(err.message).toMatch(new RegExp(`^event ${last.index} \\(at byte ${last.offset}\\): `));
  const cut = thrown(EventLogError, () => verify(parseEventLog(bytes.subarray(0, last.offset))));
  expect(cut.code).toBe('EVENT_LOG_PCR_MISMATCH');
  expect(cut.detail.pcr).toBe(last.pcr);
  // Cut inside the Spec ID header.
  expect(thrown(EventLogError, () => parseEventLog(bytes.subarray(0, 40))).code).toBe('EVENT_LOG_MALFORMED');
});

describe('over the bounds (checked before allocating)', () => {
  test(`a log over MAX_EVENT_LOG_BYTES (${MAX_EVENT_LOG_BYTES})`, () => {
    const err = thrown(EventLogError, () => parseEventLog(new Uint8Array(MAX_EVENT_LOG_BYTES + 1)));
    expect(err.code).toBe('EVENT_LOG_TOO_LARGE');
    expect(err.message).toBe(
      `event log of ${MAX_EVENT_LOG_BYTES + 1} bytes exceeds the maximum ${MAX_EVENT_LOG_BYTES}`,
    );
  });

  test(`an event claiming more than MAX_EVENT_DATA_BYTES (${MAX_EVENT_DATA_BYTES}) of data`, () => {
    const bytes = new Uint8Array(realEventLog('ubuntu-2404-amd-sevsnp.bin').bytes);
    const e = original.events[5];
    // TCG_PCR_EVENT2: pcrIndex, eventType, count, 3 x (alg + digest), then the UINT32 event size.
    const sizeAt = e.offset + 12 + (2 + 20) + (2 + 32) + (2 + 48);
    new DataView(bytes.buffer).setUint32(sizeAt, 0xfffffff0, true);
    const err = thrown(EventLogError, () => parseEventLog(bytes));
    expect(err.code).toBe('EVENT_LOG_TOO_LARGE');
    expect(err.detail.eventIndex).toBe(5);
    expect(err.message).toMatch(/^event 5: event data of 4294967280 bytes exceeds the maximum 262144/);
  });

  test(`more than MAX_EVENTS (${MAX_EVENTS}) events`, () => {
    const events = Array.from({ length: MAX_EVENTS }, () => ({
      pcr: 16,
      type: EV.EV_EVENT_TAG,
      data: new Uint8Array(1),
    }));
    const bytes = encodeEventLog(createEventLog({ banks: ['sha1'], legacy: true, events }));
    expect(parseEventLog(bytes).events).toHaveLength(MAX_EVENTS);
    const over = encodeEventLog(createEventLog({ banks: ['sha1'], legacy: true, events: [...events, events[0]] }));
    const err = thrown(EventLogError, () => parseEventLog(over));
    expect(err.code).toBe('EVENT_LOG_TOO_LARGE');
    expect(err.detail.eventIndex).toBe(MAX_EVENTS);
  });

  test('a Spec ID event with more algorithms than MAX_BANKS, or a wrong digest size for a known one', () => {
    const bytes = new Uint8Array(realEventLog('ubuntu-2404-amd-sevsnp.bin').bytes);
    const countAt = 32 + 24; // after the legacy header (32) and signature..uintnSize (24) of the Spec ID data
    const many = new Uint8Array(bytes);
    new DataView(many.buffer).setUint32(countAt, 9, true);
    expect(thrown(EventLogError, () => parseEventLog(many)).message).toMatch(
      /^event 0: Spec ID event: digestSizes: count 9 exceeds the maximum 8 \(at byte 28\)$/,
    );
    const size = new Uint8Array(bytes);
    new DataView(size.buffer).setUint16(countAt + 4 + 4 + 2, 20, true); // the second algorithm's (sha256) digestSize
    expect(thrown(EventLogError, () => parseEventLog(size)).message).toBe(
      'event 0: Spec ID event gives sha256 a digest size of 20, not 32',
    );
  });
});

test('an extending event on a PCR above 23 is malformed; an EV_NO_ACTION there is kept (Windows logs use 0xFFFFFFFF)', () => {
  const make = (type: number) =>
    encodeEventLog(createEventLog({ banks: ['sha256'], events: [{ pcr: 24, type, data: new Uint8Array(4) }] }));
  const err = thrown(EventLogError, () => parseEventLog(make(EV.EV_IPL)));
  expect(err.code).toBe('EVENT_LOG_MALFORMED');
  expect(err.message).toBe('event 1: PCR index 24 is above 23');
  expect(parseEventLog(make(EV.EV_NO_ACTION)).events[1].pcr).toBe(24);
});
