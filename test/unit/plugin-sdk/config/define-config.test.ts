// The config builder: one build(trustDomain, hcl) for Configure and Validate, every problem as a note
// naming the key path and what was expected.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigOf,
  MAX_NOTES,
  custom,
  bool,
  defineConfig,
  duration,
  enumOf,
  int,
  list,
  object,
  string,
} from '../../../../plugin-sdk/config';

// A schema shaped like the tpm_quote server's, to exercise every field kind.
const example = defineConfig(
  {
    tpm: string().default('/dev/tpmrm0').describe('TPM device path'),
    ek_algorithm: enumOf(['rsa', 'ecc']).default('rsa').describe('Endorsement key algorithm'),
    pcrs: list(int({ min: 0, max: 23 }), { unique: true, minItems: 1 })
      .default([0, 7])
      .describe('PCRs to quote'),
    strict: bool().default(true).describe('Refuse unknown event log entries'),
    timeout: duration({ min: '1s', max: '5m' }).default('10s').describe('Verifier timeout'),
    ca_path: string().optional().describe('EK CA bundle'),
    tags: list(string()).default([]).describe('Extra selector tags'),
    verifier: object({
      url: string({ pattern: /^https:\/\//, patternText: 'https:// URL' }).describe('Verifier URL'),
      retries: int({ min: 0 }).default(2),
    })
      .optional()
      .describe('Keylime verifier'),
    agent: object({ path_template: string().default('{{.PubHash}}') })
      .default({})
      .describe('Agent ID options'),
  },
  {
    check: (c) =>
      c.ek_algorithm === 'ecc' && c.ca_path === undefined ? ['key "ca_path": required when ek_algorithm = "ecc"'] : [],
  },
);

const defaults = {
  tpm: '/dev/tpmrm0',
  ek_algorithm: 'rsa',
  pcrs: [0, 7],
  strict: true,
  timeout: 10000,
  ca_path: undefined,
  tags: [],
  verifier: undefined,
  agent: { path_template: '{{.PubHash}}' },
};

describe('build: valid configuration', () => {
  it('gives all defaults for empty text', () => {
    const r = example.build('example.org', '');
    expect(r).toEqual({ ok: true, config: defaults, trustDomain: 'example.org' });
  });

  it('reads every kind from HCL', () => {
    const hcl = [
      'tpm = "/dev/tpm0"',
      'ek_algorithm = "ecc"',
      'pcrs = [0, 1, 0x7]',
      'strict = false',
      'timeout = "1m30s"',
      'ca_path = "/etc/ca.pem"',
      'tags = ["a", "b"]',
      'verifier {\n  url = "https://v:8881"\n}',
      'agent { path_template = "x" }',
    ].join('\n\n');
    const r = example.build('example.org', hcl);
    expect(r).toEqual({
      ok: true,
      trustDomain: 'example.org',
      config: {
        tpm: '/dev/tpm0',
        ek_algorithm: 'ecc',
        pcrs: [0, 1, 7],
        strict: false,
        timeout: 90000,
        ca_path: '/etc/ca.pem',
        tags: ['a', 'b'],
        verifier: { url: 'https://v:8881', retries: 2 },
        agent: { path_template: 'x' },
      },
    });
  });

  it('reads the same from JSON (plugin_data_file)', () => {
    const r = example.build('example.org', '{"pcrs": [23], "verifier": {"url": "https://v", "retries": 0}}');
    expect(r.ok && r.config.pcrs).toEqual([23]);
    expect(r.ok && r.config.verifier).toEqual({ url: 'https://v', retries: 0 });
  });

  it('accepts the captured plugin_data_file forms', () => {
    const schema = defineConfig({
      ek_algorithm: enumOf(['rsa', 'ecc']),
      pcrs: list(int({ min: 0, max: 23 })),
      verifier: object({ url: string(), timeout: duration().default('10s') }),
    });
    for (const [file, alg, timeout] of [
      ['file_hcl', 'rsa', 10000],
      ['file_json', 'ecc', 5000],
    ] as const) {
      const text = readFileSync(join(__dirname, `../../../fixtures/hcl/${file}.hcl`), 'utf8');
      expect(schema.build('example.org', text)).toEqual({
        ok: true,
        trustDomain: 'example.org',
        config: { ek_algorithm: alg, pcrs: [0, 7], verifier: { url: 'https://127.0.0.1:8881', timeout } },
      });
    }
  });

  it('freezes the parsed config deeply', () => {
    const r = example.build('example.org', 'verifier { url = "https://v" }');
    if (!r.ok) throw new Error(r.notes.join('; '));
    expect(Object.isFrozen(r.config)).toBe(true);
    expect(Object.isFrozen(r.config.pcrs)).toBe(true);
    expect(Object.isFrozen(r.config.verifier)).toBe(true);
  });

  it('does not share default objects between builds', () => {
    const a = example.build('example.org', '');
    const b = example.build('example.org', '');
    expect(a.ok && b.ok && a.config.pcrs !== b.config.pcrs).toBe(true);
  });
});

const noteCases: Array<[string, string, string[]]> = [
  [
    'unknown key with suggestion',
    'tmp = "/dev/tpm0"',
    [
      'unknown key "tmp" (known keys: tpm, ek_algorithm, pcrs, strict, timeout, ca_path, tags, verifier, agent; did you mean "tpm"?)',
    ],
  ],
  [
    'unknown key without suggestion',
    'zzz = 1',
    ['unknown key "zzz" (known keys: tpm, ek_algorithm, pcrs, strict, timeout, ca_path, tags, verifier, agent)'],
  ],
  [
    'unknown nested key',
    'verifier {\n url = "https://v"\n urll = "x"\n}',
    ['unknown key "verifier.urll" (known keys: url, retries; did you mean "url"?)'],
  ],
  ['list given a string', 'pcrs = "0,7"', ['key "pcrs": expected a list of integers 0-23, got string']],
  ['list item out of range', 'pcrs = [0, 24]', ['key "pcrs[1]": expected an integer 0-23, got 24']],
  [
    'list item wrong type',
    'pcrs = [0, "7", 1.5]',
    ['key "pcrs[1]": expected an integer 0-23, got string', 'key "pcrs[2]": expected an integer 0-23, got number 1.5'],
  ],
  ['list repeats', 'pcrs = [7, 7]', ['key "pcrs[1]": expected no repeats, got the same value as pcrs[0]']],
  ['list too short', 'pcrs = []', ['key "pcrs": expected at least 1 item(s), got 0']],
  ['string given a number', 'tpm = 5', ['key "tpm": expected a non-empty string, got integer 5']],
  ['empty string', 'tpm = ""', ['key "tpm": expected a non-empty string, got ""']],
  ['enum mismatch', 'ek_algorithm = "dsa"', ['key "ek_algorithm": expected one of "rsa", "ecc", got "dsa"']],
  ['enum given a list', 'ek_algorithm = ["rsa"]', ['key "ek_algorithm": expected one of "rsa", "ecc", got list']],
  ['bool given a string', 'strict = "true"', ['key "strict": expected a bool (true or false), got string']],
  [
    'duration not parseable',
    'timeout = "10 seconds"',
    ['key "timeout": expected a duration from 1s to 5m like "30s" or "1m30s", got "10 seconds"'],
  ],
  [
    'duration given a number',
    'timeout = 10',
    ['key "timeout": expected a duration from 1s to 5m like "30s" or "1m30s", got integer 10'],
  ],
  [
    'duration out of range',
    'timeout = "6m"',
    ['key "timeout": expected a duration from 1s to 5m like "30s" or "1m30s", got 6m0s'],
  ],
  [
    'duration below range',
    'timeout = "500ms"',
    ['key "timeout": expected a duration from 1s to 5m like "30s" or "1m30s", got 500ms'],
  ],
  ['block given a string', 'verifier = "https://v"', ['key "verifier": expected a block { url, retries }, got string']],
  [
    'block given twice',
    'verifier { url = "https://a" }\nverifier { url = "https://b" }',
    ['key "verifier": expected a single block, got 2 blocks'],
  ],
  ['missing required nested key', 'verifier {}', ['missing required key "verifier.url" (expected a https:// URL)']],
  [
    'pattern mismatch',
    'verifier { url = "http://v" }',
    ['key "verifier.url": expected a https:// URL, got a string that does not match'],
  ],
  [
    'nested int below min',
    'verifier {\n url = "https://v"\n retries = -1\n}',
    ['key "verifier.retries": expected an integer >= 0, got -1'],
  ],
  ['cross-key check', 'ek_algorithm = "ecc"', ['key "ca_path": required when ek_algorithm = "ecc"']],
  [
    'several problems at once',
    'tmp = 1\npcrs = "x"\nstrict = 1',
    [
      'unknown key "tmp" (known keys: tpm, ek_algorithm, pcrs, strict, timeout, ca_path, tags, verifier, agent; did you mean "tpm"?)',
      'key "pcrs": expected a list of integers 0-23, got string',
      'key "strict": expected a bool (true or false), got integer 1',
    ],
  ],
  [
    'HCL syntax error',
    'pcrs = [0 7]',
    ['configuration is not valid HCL: 1:11: expected "," or "]" in the list opened at 1:8, got number 7'],
  ],
  ['JSON syntax error', '{"pcrs": [0, 7],}', ['configuration is not valid JSON: 1:17: expected a quoted key, got "}"']],
  ['JSON type error', '{"strict": "yes"}', ['key "strict": expected a bool (true or false), got string']],
];

describe('build: notes', () => {
  it.each(noteCases)('%s', (_name, hcl, notes) => {
    expect(example.build('example.org', hcl)).toEqual({ ok: false, notes });
  });

  it('checks the trust domain and the text together', () => {
    expect(example.build('Example.org', 'tmp = 1')).toEqual({
      ok: false,
      notes: [
        'trust domain: expected only lowercase letters, digits, ".", "-" and "_", got "Example.org"',
        'unknown key "tmp" (known keys: tpm, ek_algorithm, pcrs, strict, timeout, ca_path, tags, verifier, agent; did you mean "tpm"?)',
      ],
    });
    expect(example.build('', '')).toEqual({
      ok: false,
      notes: ['trust domain: expected a trust domain name (like "example.org"), got ""'],
    });
  });

  it('caps the number of notes', () => {
    const hcl =
      Array.from({ length: 80 }, (_, i) => `pcrs${i} = 1`).join('\n') + '\npcrs = [' + '"x", '.repeat(60) + ']';
    const r = example.build('example.org', hcl);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.notes).toHaveLength(MAX_NOTES + 1);
    expect(r.notes[19]).toMatch(/^unknown key "pcrs19" \(known keys: tpm, /);
    expect(r.notes[20]).toBe('60 more unknown keys');
    expect(r.notes[21]).toBe('key "pcrs[0]": expected an integer 0-23, got string');
    expect(r.notes[MAX_NOTES]).toBe('... and 31 more problems');
  });

  // No timed assertion (speed belongs to benchmarks): a quadratic note builder shows as jest's timeout.
  it('builds notes for a megabyte of unknown keys', () => {
    const hcl = Array.from({ length: 60000 }, (_, i) => `k${i % 1000}_${i} = 1`).join('\n');
    const r = example.build('example.org', hcl);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.notes.at(-1)).toMatch(/more unknown keys|more problems/);
  });

  it('counts unknown keys in nested blocks by block', () => {
    const r = example.build(
      'example.org',
      `verifier {\n url = "https://v"\n${Array.from({ length: 25 }, (_, i) => `x${i} = 1`).join('\n')}\n}`,
    );
    expect(!r.ok && r.notes.at(-1)).toBe('5 more unknown keys in "verifier"');
  });

  it('runs custom field checks after the type check', () => {
    const schema = defineConfig({
      port: int().check((p) => (p % 2 === 0 ? undefined : `expected an even port, got ${p}`)),
    });
    expect(schema.build('example.org', 'port = 3')).toEqual({
      ok: false,
      notes: ['key "port": expected an even port, got 3'],
    });
    expect(schema.build('example.org', 'port = "3"')).toEqual({
      ok: false,
      notes: ['key "port": expected an integer, got string'],
    });
    expect(schema.build('example.org', 'port = 4')).toEqual({
      ok: true,
      config: { port: 4 },
      trustDomain: 'example.org',
    });
  });

  it('does not let __proto__ in the input reach the config', () => {
    const r = example.build('example.org', '__proto__ { strict = false }');
    expect(r).toEqual({ ok: false, notes: [expect.stringMatching(/^unknown key "__proto__" \(known keys: /)] });
  });
});

describe('custom fields', () => {
  // A "host:port" string parsed into parts: a kind the built-ins do not cover.
  const hostPort = () =>
    custom<{ host: string; port: number }, string>({
      docType: 'host:port string',
      expected: 'a "host:port" string',
      expectedPlural: '"host:port" strings',
      read(raw, { note }) {
        const m = typeof raw === 'string' ? /^([a-z0-9.-]+):([0-9]{1,5})$/.exec(raw) : null;
        if (!m || Number(m[2]) > 65535) {
          note(`expected a "host:port" string, got ${typeof raw === 'string' ? JSON.stringify(raw) : typeof raw}`);
          return undefined;
        }
        return { host: m[1], port: Number(m[2]) };
      },
    });
  const schema = defineConfig({ addr: hostPort().default('localhost:8881'), peers: list(hostPort()).default([]) });

  it('reads, defaults and reports like the built-ins', () => {
    expect(schema.build('example.org', '')).toEqual({
      ok: true,
      trustDomain: 'example.org',
      config: { addr: { host: 'localhost', port: 8881 }, peers: [] },
    });
    expect(schema.build('example.org', 'peers = ["a:1", "b"]')).toEqual({
      ok: false,
      notes: ['key "peers[1]": expected a "host:port" string, got "b"'],
    });
    expect(schema.docRows()[1]).toEqual({
      key: 'peers',
      type: 'list of "host:port" strings',
      required: false,
      default: '[]',
      description: '',
    });
  });
});

describe('declaration errors (programming mistakes) throw at once', () => {
  it('refuses an invalid default', () => {
    expect(() => int({ max: 5 }).default(9)).toThrow(
      'invalid config field default: key "<default>": expected an integer <= 5, got 9',
    );
    expect(() => duration().default('soon')).toThrow('invalid config field default');
    expect(() => object({ a: string() }).default({})).toThrow(
      'invalid config field default: missing required key "<default>.a"',
    );
    expect(() =>
      int()
        .default(4)
        .check((v) => (v > 3 ? 'expected at most 3' : undefined)),
    ).toThrow('expected at most 3');
  });

  it('refuses an invalid duration bound', () => {
    expect(() => duration({ max: 'forever' })).toThrow('invalid duration bound "forever"');
  });
});

// Compile-time checks: `npm run typecheck` fails if inference regresses.
type Example = ConfigOf<typeof example>;
const typed: Example = {
  tpm: 'x',
  ek_algorithm: 'ecc',
  pcrs: [1],
  strict: true,
  timeout: 1,
  ca_path: undefined,
  tags: [],
  verifier: { url: 'u', retries: 1 },
  agent: { path_template: 'p' },
};
// @ts-expect-error "dsa" is not one of the enum values
const badEnum: Example['ek_algorithm'] = 'dsa';
// @ts-expect-error a required-with-default field is never undefined
const badUndefined: Example['tpm'] = undefined;
it('types defaults as written in the config (and refuses others at run time too)', () => {
  // @ts-expect-error a duration default is written as a Go duration string, not milliseconds
  expect(() => duration().default(1000)).toThrow('got integer 1000');
});
void typed;
void badEnum;
void badUndefined;
