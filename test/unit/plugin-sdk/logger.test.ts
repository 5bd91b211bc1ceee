import { Writable } from 'node:stream';
import {
  createLogger,
  formatHclogLine,
  formatHclogTimestamp,
  isLogLevel,
  MAX_LINE_CHARS,
} from '../../../plugin-sdk/logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('formatHclogTimestamp', () => {
  test.each([
    [new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 123)), '2026-01-02T03:04:05.123000Z'],
    [new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 0)), '2026-01-02T03:04:05.000000Z'],
    [new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999)), '1999-12-31T23:59:59.999000Z'],
  ])('%s -> %s (exactly 6 fractional digits)', (date, expected) => {
    expect(formatHclogTimestamp(date)).toBe(expected);
  });
});

describe('formatHclogLine', () => {
  const time = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 123));
  test('reserved keys, module and fields at top level', () => {
    expect(
      JSON.parse(formatHclogLine({ level: 'warn', message: 'm', module: 'tpm', time, fields: { pcr: 7, ok: true } })),
    ).toEqual({
      '@level': 'warn',
      '@message': 'm',
      '@timestamp': '2026-01-02T03:04:05.123000Z',
      '@module': 'tpm',
      pcr: 7,
      ok: true,
    });
  });
  test('fields cannot forge reserved keys; undefined fields dropped', () => {
    const line = JSON.parse(
      formatHclogLine({
        level: 'info',
        message: 'real',
        time,
        fields: { '@level': 'error', '@message': 'fake', gone: undefined },
      }),
    );
    expect(line).toEqual({ '@level': 'info', '@message': 'real', '@timestamp': '2026-01-02T03:04:05.123000Z' });
  });
  test('an over-long line stays one parseable JSON object below the limit', () => {
    const raw = formatHclogLine({
      level: 'info',
      message: 'm'.repeat(5000),
      module: 'x',
      time,
      fields: { blob: 'b'.repeat(100_000), n: 1 },
    });
    expect(raw.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    const line = JSON.parse(raw);
    expect(line['@level']).toBe('info');
    expect(line['@module']).toBe('x');
    expect(line['@message']).toBe(`${'m'.repeat(1024)}...`);
    expect(line.blob).toBeUndefined();
    expect(line.log_truncated).toMatch(/fields dropped: @module,blob,n|fields dropped: blob,n/);
  });
  test('errors become their message (no stack), bigints and bytes become strings', () => {
    const line = JSON.parse(
      formatHclogLine({
        level: 'error',
        message: 'x',
        time,
        fields: { error: new Error('boom'), n: 2n ** 70n, b: new Uint8Array([0xde, 0xad]) },
      }),
    );
    expect(line.error).toBe('boom');
    expect(line.n).toBe('1180591620717411303424');
    expect(line.b).toBe('dead');
  });
});

describe('createLogger', () => {
  test('writes one hclog JSON line per call with level, fields and module', async () => {
    const c = capture();
    const log = createLogger({ stream: c.stream, level: 'trace' });
    log.trace('t', { a: 1 });
    log.child('broker').info('i', { b: 'x' });
    log.child('a').child('b').error('e');
    await flush();
    const lines = c.lines();
    expect(lines.map((l) => [l['@level'], l['@message'], l['@module']])).toEqual([
      ['trace', 't', undefined],
      ['info', 'i', 'broker'],
      ['error', 'e', 'a.b'],
    ]);
    expect(lines[0].a).toBe(1);
    expect(lines[1].b).toBe('x');
    for (const l of lines) expect(l['@timestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  test('level filters and can be changed at run time', async () => {
    const c = capture();
    const log = createLogger({ stream: c.stream, level: 'info' });
    log.debug('hidden');
    log.info('shown');
    log.setLevel('debug');
    log.debug('now shown');
    expect(log.level).toBe('debug');
    await flush();
    expect(c.lines().map((l) => l['@message'])).toEqual(['shown', 'now shown']);
  });

  test.each([
    ['info', 'info'],
    ['bogus', 'debug'],
  ])('TPM_QUOTE_LOG_LEVEL=%s gives level %s', (env, expected) => {
    const saved = process.env.TPM_QUOTE_LOG_LEVEL;
    process.env.TPM_QUOTE_LOG_LEVEL = env;
    try {
      expect(createLogger({ stream: capture().stream }).level).toBe(expected);
    } finally {
      if (saved === undefined) delete process.env.TPM_QUOTE_LOG_LEVEL;
      else process.env.TPM_QUOTE_LOG_LEVEL = saved;
    }
  });

  test.each([
    ['trace', true],
    ['warn', true],
    ['warning', false],
    ['fatal', false],
    [3, false],
  ])('isLogLevel(%j) = %s', (v, ok) => {
    expect(isLogLevel(v)).toBe(ok);
  });
});
