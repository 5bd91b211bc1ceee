import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MAX_TPM_POLICY_BYTES,
  TpmPolicyError,
  evaluateTpmPolicy,
  formatTpmPolicy,
  loadTpmPolicyFile,
  parseTpmPolicy,
} from '../../../verifier-client';

const S1 = 'ab'.repeat(20);
const S256 = 'cd'.repeat(32);
const S256b = 'ef'.repeat(32);
const S384 = '01'.repeat(48);
const S512 = '23'.repeat(64);

describe('parseTpmPolicy', () => {
  test.each([
    ['one sha256 PCR', { 0: [S256] }, 'sha256', [[0, [S256]]], 0x1],
    ['sha1 values', { 7: [S1] }, 'sha1', [[7, [S1]]], 0x80],
    ['sha384 values', { 23: [S384] }, 'sha384', [[23, [S384]]], 0x800000],
    ['sha512 values', { 1: [S512] }, 'sha512', [[1, [S512]]], 0x2],
    [
      'mask that agrees',
      { 0: [S256], 7: [S256b], mask: '0x81' },
      'sha256',
      [
        [0, [S256]],
        [7, [S256b]],
      ],
      0x81,
    ],
    [
      'upper case mask hex',
      { 4: [S256], mask: '0X10'.replace('X', 'x').toUpperCase().replace('0X', '0x') },
      'sha256',
      [[4, [S256]]],
      0x10,
    ],
    [
      'keys sorted numerically',
      { 11: [S256], 2: [S256] },
      'sha256',
      [
        [2, [S256]],
        [11, [S256]],
      ],
      0x804,
    ],
    [
      'upper case values lowered and de-duplicated',
      { 3: [S256.toUpperCase(), S256, S256b] },
      'sha256',
      [[3, [S256, S256b]]],
      0x8,
    ],
  ])('%s', (_name, doc, hashAlg, pcrs, mask) => {
    const p = parseTpmPolicy(JSON.stringify(doc));
    expect(p.hashAlg).toBe(hashAlg);
    expect([...p.pcrs.entries()]).toEqual(pcrs);
    expect(p.mask).toBe(mask);
  });

  test.each([
    ['not JSON', '{', undefined, /^tpm policy: not valid JSON/],
    ['an array', '[]', undefined, /must be a JSON object of PCR index/],
    ['null', 'null', undefined, /must be a JSON object/],
    ['empty object', '{}', undefined, /lists no PCR/],
    ['mask only (accept-all)', '{"mask": "0x0"}', undefined, /lists no PCR/],
    ['PCR 24', `{"24": ["${S256}"]}`, undefined, /key "24" is neither "mask" nor a PCR index 0-23/],
    ['leading zero', `{"07": ["${S256}"]}`, undefined, /key "07" is neither/],
    ['negative', `{"-1": ["${S256}"]}`, undefined, /key "-1" is neither/],
    ['unknown key', `{"pcr0": ["${S256}"]}`, undefined, /key "pcr0" is neither/],
    ['IMA PCR 10', `{"10": ["${S256}"]}`, 10, /PCR 10 is the IMA PCR/],
    ['string instead of list', `{"5": "${S256}"}`, 5, /PCR 5 must list at least one hex value/],
    ['empty list', '{"5": []}', 5, /PCR 5 must list at least one hex value/],
    ['number value', '{"6": [1]}', 6, /PCR 6 value 0 must be a hex string without "0x", got 1/],
    ['0x prefix', `{"6": ["0x${S256}"]}`, 6, /PCR 6 value 0 must be a hex string without "0x"/],
    ['non-hex', `{"6": ["${'zz'.repeat(32)}"]}`, 6, /PCR 6 value 0 must be a hex string/],
    ['odd length', `{"8": ["${S256}0"]}`, 8, /PCR 8 value 0 has 65 hex digits, which is no bank's digest size/],
    [
      'mixed banks',
      `{"1": ["${S256}"], "2": ["${S1}"]}`,
      2,
      /PCR 2 value 0 is a sha1 digest \(40 hex digits\) but the policy is for sha256 \(64 hex digits, from PCR 1 value 0\)/,
    ],
    ['mask not a string', `{"1": ["${S256}"], "mask": 2}`, undefined, /"mask" must be a string "0x<hex>", got 2/],
    ['mask without 0x', `{"1": ["${S256}"], "mask": "2"}`, undefined, /"mask" must be a string "0x<hex>"/],
    [
      'mask lacks a PCR',
      `{"1": ["${S256}"], "3": ["${S256}"], "mask": "0x2"}`,
      3,
      /"mask" 0x2 lacks PCR 3 \(expected 0xa\)/,
    ],
    [
      'mask has extra PCR',
      `{"1": ["${S256}"], "mask": "0x6"}`,
      2,
      /"mask" 0x6 sets PCR 2, which the policy does not list \(expected 0x2\)/,
    ],
  ])('refuses %s', (_name, text, pcr, message) => {
    let err: unknown;
    try {
      parseTpmPolicy(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TpmPolicyError);
    expect((err as TpmPolicyError).message).toMatch(message);
    expect((err as TpmPolicyError).pcr).toBe(pcr);
  });

  test('hashAlg option: values of another bank are refused naming the PCR', () => {
    expect(() => parseTpmPolicy(`{"4": ["${S1}"]}`, { hashAlg: 'sha256', source: '/etc/p.json' })).toThrow(
      'tpm policy /etc/p.json: PCR 4 value 0 is a sha1 digest (40 hex digits) but the policy is for sha256 (64 hex digits, from the configured bank sha256)',
    );
    expect(parseTpmPolicy(`{"4": ["${S256}"]}`, { hashAlg: 'sha256' }).hashAlg).toBe('sha256');
  });

  test('refuses text over the size limit before parsing', () => {
    const big = `{"0": ["${S256}"], "x": "${'a'.repeat(MAX_TPM_POLICY_BYTES)}"}`;
    expect(() => parseTpmPolicy(big)).toThrow(`tpm policy: larger than ${MAX_TPM_POLICY_BYTES} bytes`);
  });

  test('property: random byte strings either parse into a consistent policy or throw TpmPolicyError', () => {
    for (let i = 0; i < 2000; i++) {
      const text =
        i % 2 === 0
          ? randomBytes(1 + (i % 64)).toString('latin1')
          : mutate(`{"0": ["${S256}"], "7": ["${S256b}"], "mask": "0x81"}`, i);
      let policy;
      try {
        policy = parseTpmPolicy(text);
      } catch (e) {
        expect(e).toBeInstanceOf(TpmPolicyError);
        continue;
      }
      // Whatever parsed must round-trip and be self-consistent.
      expect(parseTpmPolicy(formatTpmPolicy(policy))).toEqual(policy);
      for (const [pcr, values] of policy.pcrs) {
        expect(pcr).toBeGreaterThanOrEqual(0);
        expect(pcr).toBeLessThanOrEqual(23);
        expect(pcr).not.toBe(10);
        expect(policy.mask & (1 << pcr)).not.toBe(0);
        for (const v of values) expect(v).toMatch(/^[0-9a-f]+$/);
      }
    }
  });
});

// Deterministic single-character mutations of a valid policy text.
function mutate(text: string, seed: number): string {
  const chars = [...text];
  const pos = (seed * 7919) % chars.length;
  const alphabet = '{}[]",:0123456789abcdefxX -\\';
  chars[pos] = alphabet[(seed * 31) % alphabet.length];
  return chars.join('');
}

describe('formatTpmPolicy', () => {
  test('writes Keylime tpm_policy JSON: PCR keys ascending, then mask', () => {
    const p = parseTpmPolicy(JSON.stringify({ 7: [S256b], 0: [S256, S256b] }));
    expect(formatTpmPolicy(p)).toBe(`{"0":["${S256}","${S256b}"],"7":["${S256b}"],"mask":"0x81"}`);
  });
});

describe('loadTpmPolicyFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'policy-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('reads a file and names it in errors', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ 0: [S256], mask: '0x1' }));
    expect(loadTpmPolicyFile(good).pcrs.get(0)).toEqual([S256]);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ 0: ['00'] }));
    expect(() => loadTpmPolicyFile(bad)).toThrow(`tpm policy ${bad}: PCR 0 value 0 has 2 hex digits`);
  });

  test('missing file -> TpmPolicyError naming the path', () => {
    const missing = join(dir, 'missing.json');
    expect(() => loadTpmPolicyFile(missing)).toThrow(new RegExp(`^tpm policy ${missing}: cannot read: ENOENT`));
  });

  test('oversized file is refused from its size, not read', () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(MAX_TPM_POLICY_BYTES + 1, 0x20));
    expect(() => loadTpmPolicyFile(big)).toThrow(`tpm policy ${big}: larger than ${MAX_TPM_POLICY_BYTES} bytes`);
  });
});

describe('evaluateTpmPolicy (Keylime semantics)', () => {
  const policy = parseTpmPolicy(JSON.stringify({ 0: [S256], 7: [S256, S256b] }));
  test.each([
    [
      'all match',
      [
        [0, S256],
        [7, S256b],
      ],
      [],
    ],
    [
      'extra quoted PCR is ignored',
      [
        [0, S256],
        [7, S256],
        [3, S256b],
      ],
      [],
    ],
    [
      'upper case quoted value',
      [
        [0, S256.toUpperCase()],
        [7, S256],
      ],
      [],
    ],
    [
      'value not allowed',
      [
        [0, S256b],
        [7, S256],
      ],
      [{ kind: 'invalid_pcr', pcr: 0, got: S256b, expected: [S256] }],
    ],
    ['policy PCR not quoted', [[0, S256]], [{ kind: 'missing_pcr', pcr: 7 }]],
    [
      'nothing quoted',
      [],
      [
        { kind: 'missing_pcr', pcr: 0 },
        { kind: 'missing_pcr', pcr: 7 },
      ],
    ],
  ] as [string, [number, string][], unknown[]][])('%s', (_name, quoted, expected) => {
    expect(evaluateTpmPolicy(policy, new Map(quoted))).toEqual(expected);
  });
});
