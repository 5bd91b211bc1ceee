// The agent's event-log reader: a missing log is no error (the server decides), a log that exists is sent
// whole or fails naming the file; never more than the protocol's bound.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEventLog } from '../../../plugin-agent/event-log';
import { Code, PluginError } from '../../../plugin-sdk';
import { MAX_EVENT_LOG_BYTES } from '../../../proto';
import { thrown } from '../../helpers/thrown';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tpmq-unit-evlog-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readEventLog', () => {
  test('a missing file, a missing directory and "" send no log', () => {
    expect(readEventLog(join(dir, 'none.bin'))).toEqual({ absent: `${join(dir, 'none.bin')} does not exist` });
    expect(readEventLog(join(dir, 'none', 'x.bin'))).toHaveProperty('absent');
    expect(readEventLog('')).toEqual({ absent: 'event_log_path is ""' });
  });

  test('a file is read whole, byte for byte (larger than one read chunk)', () => {
    const bytes = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff);
    const file = join(dir, 'log.bin');
    writeFileSync(file, bytes);
    expect(readEventLog(file)).toEqual({ bytes });
  });

  test('an empty file sends no log', () => {
    const file = join(dir, 'empty.bin');
    writeFileSync(file, '');
    expect(readEventLog(file)).toEqual({ absent: `${file} is empty` });
  });

  test('a file over the bound is FailedPrecondition naming it; exactly the bound is sent', () => {
    const file = join(dir, 'big.bin');
    writeFileSync(file, new Uint8Array(MAX_EVENT_LOG_BYTES + 1));
    const err = thrown(PluginError, () => readEventLog(file));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toContain(`event_log_path: ${file} is over ${MAX_EVENT_LOG_BYTES} bytes`);
    writeFileSync(file, new Uint8Array(MAX_EVENT_LOG_BYTES));
    expect(readEventLog(file)).toHaveProperty('bytes.length', MAX_EVENT_LOG_BYTES);
  });

  test('a directory is FailedPrecondition naming it', () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const err = thrown(PluginError, () => readEventLog(sub));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toBe(`event_log_path: ${sub} is not a regular file`);
  });
});
