// The hcl_configuration strings real spire-server v1.13.3 sent our capture plugin (see
// test/fixtures/hcl/README.md) must read into exactly these trees.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HclParseError, HclValue, parseConfigText } from '../../../../plugin-sdk/hcl';

const dir = join(__dirname, '../../../fixtures/hcl');
const fixture = (name: string): string => readFileSync(join(dir, `${name}.hcl`), 'utf8');

const expected: Record<string, HclValue> = {
  block: { a: 'x', count: 3, enabled: true },
  attribute: { a: 'x', b: [1, 2] },
  empty: {},
  nested_block: {
    tpm: { device: '/dev/tpmrm0', retry: { attempts: 2 } },
    verifier: { keylime: { url: 'https://127.0.0.1:8881' }, local: { strict: false } },
    policy: [{ name: 'first' }, { name: 'second' }],
  },
  list: {
    pcrs: [0, 1, 7],
    names: ['a', 'b'],
    multiline: ['x', 'y'],
    empty: [],
    nested: [[1, 2], ['three']],
    objects: [{ k: 'v' }, { k: 'w' }],
  },
  quoted_key: { 'quoted key': 'v1', plain: 2, bare: 'v3', 'block key': { inner: true } },
  heredoc: {
    pem: '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ==\n-----END CERTIFICATE-----\n',
    indented: 'line one\n  line two\n',
    after: 'still here',
  },
  scalars: {
    int: 42,
    negative: -7,
    hex: 31,
    octal: 420,
    float: 3.25,
    exp: 1000,
    yes: true,
    no: false,
    escapes: 'q" b\\ n\n t\t u\u00e9 ${not.interpolated}',
  },
  file_hcl: { ek_algorithm: 'rsa', pcrs: [0, 7], verifier: { url: 'https://127.0.0.1:8881' } },
  file_json: { ek_algorithm: 'ecc', pcrs: [0, 7], verifier: { url: 'https://127.0.0.1:8881', timeout: '5s' } },
};

// SPIRE passes these through; our reader refuses them (deliberately stricter than HCL v1's last-one-wins).
const refused: Record<string, string> = {
  duplicate_key: '3:1: duplicate key "a" (already set at 1:1)',
};

describe('hcl_configuration captured from real spire-server', () => {
  it.each(Object.keys(expected))('%s reads into the expected tree', (name) => {
    expect(parseConfigText(fixture(name))).toStrictEqual(expected[name]);
  });

  it.each(Object.keys(refused))('%s is refused with a positioned error', (name) => {
    expect(() => parseConfigText(fixture(name))).toThrow(HclParseError);
    expect(() => parseConfigText(fixture(name))).toThrow(refused[name]);
  });

  it('has a test for every captured fixture', () => {
    const names = readdirSync(dir)
      .filter((f) => f.endsWith('.hcl'))
      .map((f) => f.replace(/\.hcl$/, ''))
      .sort();
    expect(names).toEqual([...Object.keys(expected), ...Object.keys(refused)].sort());
  });

  // Facts about what SPIRE sends, pinned so a SPIRE upgrade that changes them is noticed on re-capture.
  it('sends plugin_data_file contents verbatim', () => {
    expect(fixture('file_hcl')).toBe(readFileSync(join(dir, 'input/file_hcl.data'), 'utf8'));
    expect(fixture('file_json')).toBe(readFileSync(join(dir, 'input/file_json.data'), 'utf8'));
  });

  it('passes a duplicate key through as written', () => {
    expect(fixture('duplicate_key')).toBe('a = 1\n\na = 2');
  });

  it('sends "" for plugin_data = {}', () => {
    expect(fixture('empty')).toBe('');
  });

  it('re-prints plugin_data blocks without braces, blank lines between items, no final newline', () => {
    expect(fixture('block')).toBe('a = "x"\n\ncount = 3\n\nenabled = true');
  });

  it('keeps literals as written (hex, octal, exponent, escapes, comments, heredoc indentation)', () => {
    const s = fixture('scalars');
    expect(s).toContain('hex = 0x1F');
    expect(s).toContain('octal = 0644');
    expect(s).toContain('exp = 1e3');
    expect(s).toContain('# comment kept?');
    expect(s).toContain('"q\\" b\\\\ n\\n t\\t u\\u00e9 ${not.interpolated}"');
    expect(fixture('heredoc')).toContain('indented = <<-EOT\n            line one\n');
  });
});
