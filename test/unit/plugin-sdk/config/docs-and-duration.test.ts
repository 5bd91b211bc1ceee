// The docs table comes from the schema; Go durations and trust domains read as SPIRE/Go would.

import {
  bool,
  configDocRows,
  defineConfig,
  duration,
  enumOf,
  formatDurationMs,
  formatHclValue,
  int,
  list,
  object,
  parseGoDuration,
  replaceGeneratedSection,
  string,
  trustDomainProblem,
} from '../../../../plugin-sdk/config';

const schema = defineConfig({
  ek_algorithm: enumOf(['rsa', 'ecc']).default('rsa').describe('EK algorithm | kind'),
  pcrs: list(int({ min: 0, max: 23 }))
    .default([0, 7])
    .describe('PCRs to quote'),
  strict: bool().describe('Refuse unknown events'),
  timeout: duration().default('10s'),
  verifier: object({ url: string().describe('URL'), tls: object({ ca: string().default('/etc/ca.pem') }).default({}) })
    .optional()
    .describe('Keylime verifier'),
  rules: list(object({ name: string(), weight: int().default(1) }))
    .default([])
    .describe('Rules'),
});

describe('docs table', () => {
  it('lists every key with type, required, default and description, nested keys dotted', () => {
    expect(configDocRows(schema.fields)).toEqual([
      {
        key: 'ek_algorithm',
        type: 'one of `rsa`, `ecc`',
        required: false,
        default: '"rsa"',
        description: 'EK algorithm | kind',
      },
      { key: 'pcrs', type: 'list of integers 0-23', required: false, default: '[0, 7]', description: 'PCRs to quote' },
      { key: 'strict', type: 'bool', required: true, default: '', description: 'Refuse unknown events' },
      { key: 'timeout', type: 'duration', required: false, default: '"10s"', description: '' },
      { key: 'verifier', type: 'block', required: false, default: '', description: 'Keylime verifier' },
      { key: 'verifier.url', type: 'string', required: true, default: '', description: 'URL' },
      { key: 'verifier.tls', type: 'block', required: false, default: '{}', description: '' },
      { key: 'verifier.tls.ca', type: 'string', required: false, default: '"/etc/ca.pem"', description: '' },
      { key: 'rules', type: 'list of blocks', required: false, default: '[]', description: 'Rules' },
      { key: 'rules[].name', type: 'string', required: true, default: '', description: '' },
      { key: 'rules[].weight', type: 'integer', required: false, default: '1', description: '' },
    ]);
  });

  it('renders Markdown with escaped cells', () => {
    const md = schema.docsMarkdown();
    const lines = md.trimEnd().split('\n');
    expect(lines[0]).toBe('| Key | Type | Required | Default | Description |');
    expect(lines[2]).toBe('| `ek_algorithm` | one of `rsa`, `ecc` | no | `"rsa"` | EK algorithm \\| kind |');
    expect(lines[4]).toBe('| `strict` | bool | yes |  | Refuse unknown events |');
    expect(lines).toHaveLength(2 + 11);
  });

  it('documents defaults that build really applies', () => {
    const r = schema.build('example.org', 'strict = true');
    expect(r).toEqual({
      ok: true,
      trustDomain: 'example.org',
      config: { ek_algorithm: 'rsa', pcrs: [0, 7], strict: true, timeout: 10000, verifier: undefined, rules: [] },
    });
    const nested = schema.build('example.org', 'strict = true\nverifier { url = "u" }\nrules = [{ name = "a" }]');
    expect(nested.ok && nested.config.verifier).toEqual({ url: 'u', tls: { ca: '/etc/ca.pem' } });
    expect(nested.ok && nested.config.rules).toEqual([{ name: 'a', weight: 1 }]);
  });

  it('replaces a generated section between markers, and only there', () => {
    const doc = 'intro\n<!-- config:server:begin -->\nold table\n<!-- config:server:end -->\noutro\n';
    const out = replaceGeneratedSection(doc, 'server', schema.docsMarkdown());
    expect(out).toBe(
      `intro\n<!-- config:server:begin -->\n${schema.docsMarkdown()}<!-- config:server:end -->\noutro\n`,
    );
    expect(replaceGeneratedSection(out, 'server', schema.docsMarkdown())).toBe(out);
    expect(() => replaceGeneratedSection(doc, 'agent', '')).toThrow(
      'markers <!-- config:agent:begin --> ... <!-- config:agent:end --> not found',
    );
  });

  it('formats values as HCL', () => {
    expect(formatHclValue({ a: [1, 'x\n', true], 'b c': {} })).toBe('{ a = [1, "x\\n", true], "b c" = {} }');
  });
});

describe('Go durations', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['1ns', 0.000001],
    ['1us', 0.001],
    ['1µs', 0.001],
    ['1μs', 0.001],
    ['250ms', 250],
    ['10s', 10000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['1.s', 1000],
    ['1m30s', 90000],
    ['2h45m', 9900000],
    ['1h1m1s1ms', 3661001],
    ['+5s', 5000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '5', '-5s', '5 s', 's', '.s', '5d', '1h-1m', '10S', '1e3s', '9999999999h', 'x'.repeat(200)])(
    'refuses %j',
    (text) => {
      expect(parseGoDuration(text)).toBeUndefined();
    },
  );

  it('formats milliseconds as Go does for common values', () => {
    expect([0, 250, 1000, 90000, 3600000, 3661500].map(formatDurationMs)).toEqual([
      '0s',
      '250ms',
      '1s',
      '1m30s',
      '1h0m0s',
      '1h1m1.5s',
    ]);
  });
});

describe('trust domain names', () => {
  it.each(['example.org', 'a', 'td-1_x.local', 'x'.repeat(255)])('accepts %s', (td) => {
    expect(trustDomainProblem(td)).toBeUndefined();
  });

  it.each([
    ['', 'expected a trust domain name (like "example.org"), got ""'],
    ['Example.org', 'expected only lowercase letters, digits, ".", "-" and "_", got "Example.org"'],
    ['spiffe://example.org', 'expected only lowercase letters, digits, ".", "-" and "_", got "spiffe://example.org"'],
    ['a b', 'expected only lowercase letters, digits, ".", "-" and "_", got "a b"'],
    ['x'.repeat(256), 'expected at most 255 characters, got 256'],
  ])('refuses %j', (td, why) => {
    expect(trustDomainProblem(td)).toBe(why);
  });
});
