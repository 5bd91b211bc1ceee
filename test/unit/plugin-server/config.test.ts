// Server plugin configuration: every bad key produces a note naming it; files are loaded and checked.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configureServer, loadEkHashes } from '../../../plugin-server/config';
import { TPM_ALG_SHA1, TPM_ALG_SHA256 } from '../../../tpm/marshal/constants';
import { pcrSelection } from '../../../tpm/types/pcr';

const FX = resolve(__dirname, '../../fixtures/tpm');
let dir: string;
let hashes: string;
let cas: string;
const H = 'ab'.repeat(32);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tpmq-unit-cfg-'));
  hashes = join(dir, 'hashes.txt');
  writeFileSync(hashes, `# comment\n\n${H.toUpperCase()}  # trailing comment\n`);
  cas = join(dir, 'cas.pem');
  writeFileSync(cas, readFileSync(join(FX, 'ca-root.pem'), 'utf8') + readFileSync(join(FX, 'ca-issuer.pem'), 'utf8'));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ 0: ['00'.repeat(32)], 7: ['11'.repeat(32)] }));
  writeFileSync(join(dir, 'policy-sha1.json'), JSON.stringify({ 0: ['00'.repeat(20)] }));
  writeFileSync(join(dir, 'policy-16.json'), JSON.stringify({ 16: ['00'.repeat(32)] }));
  writeFileSync(join(dir, 'bad-hashes.txt'), `${H}\nnot-a-hash\n`);
  writeFileSync(join(dir, 'empty.txt'), '# nothing\n');
  mkdirSync(join(dir, 'hashdir'));
  writeFileSync(join(dir, 'hashdir', 'a'), `${H}\n`);
  writeFileSync(join(dir, 'hashdir', 'b'), `${'cd'.repeat(32)}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const build = (hcl: string) => configureServer({ trustDomain: 'example.org' }, hcl);

describe('server config', () => {
  test('defaults: any, sha256 0-7, in_process, no policy', () => {
    const r = build(`ek_hash_path = "${hashes}"\n`);
    if (!('config' in r)) throw new Error(r.notes.join('; '));
    expect(r.config).toMatchObject({ trustDomain: 'example.org', ekTrust: 'any', verifier: 'in_process' });
    expect(r.config.ekProfile).toEqual({ requireEku: false, allowSha1: false });
    expect(r.config.pcrPolicy).toBeUndefined();
    expect(r.config.pcrSelection).toEqual([pcrSelection(TPM_ALG_SHA256, [0, 1, 2, 3, 4, 5, 6, 7])]);
    expect([...r.config.ekHashes!]).toEqual([H]);
  });

  test('everything set, HCL and a list selection', () => {
    const r = build(
      `ek_ca_path = "${cas}"\nek_hash_path = "${join(dir, 'hashdir')}"\nek_trust = "all"\npcr_selection = ["sha256:0-7", "sha1:0"]\npcr_policy_path = "${join(dir, 'policy.json')}"\nverifier = "in_process"\nlog_level = "info"\n`,
    );
    if (!('config' in r)) throw new Error(r.notes.join('; '));
    expect(r.config.ekCas).toHaveLength(2);
    expect(r.config.ekHashes!.size).toBe(2);
    expect(r.config.pcrSelection).toEqual([
      pcrSelection(TPM_ALG_SHA256, [0, 1, 2, 3, 4, 5, 6, 7]),
      pcrSelection(TPM_ALG_SHA1, [0]),
    ]);
    expect([...r.config.pcrPolicy!.pcrs.keys()]).toEqual([0, 7]);
    expect(r.config.logLevel).toBe('info');
  });

  test('ek_require_eku and ek_allow_sha1 reach the EK profile options', () => {
    const r = build(`ek_ca_path = "${cas}"\nek_require_eku = true\nek_allow_sha1 = true\n`);
    if (!('config' in r)) throw new Error(r.notes.join('; '));
    expect(r.config.ekProfile).toEqual({ requireEku: true, allowSha1: true });
  });

  test('JSON plugin_data works too', () => {
    const r = build(JSON.stringify({ ek_hash_path: hashes, pcr_selection: 'sha256:7' }));
    expect('config' in r && r.config.pcrSelection).toEqual([pcrSelection(TPM_ALG_SHA256, [7])]);
  });

  test.each([
    ['no EK trust at all', '', [/^keys "ek_ca_path" and "ek_hash_path": set at least one/]],
    [
      'ek_trust all without the allowlist',
      `ek_ca_path = "${'CAS'}"\nek_trust = "all"\n`,
      [/^key "ek_hash_path": required when ek_trust = "all"$/],
    ],
    [
      'bad ek_trust',
      `ek_hash_path = "HASHES"\nek_trust = "some"\n`,
      [/^key "ek_trust": expected one of "any", "all", got "some"$/],
    ],
    [
      'other verifier',
      `ek_hash_path = "HASHES"\nverifier = "remote"\n`,
      [/^key "verifier": expected one of "in_process", "keylime", got "remote"$/],
    ],
    [
      'unknown key with a hint',
      `ek_hash_path = "HASHES"\nek_hash_paths = "x"\n`,
      [/^unknown key "ek_hash_paths" .*did you mean "ek_hash_path"\?\)$/],
    ],
    [
      'missing CA file',
      `ek_ca_path = "/nonexistent/ca.pem"\n`,
      [/^key "ek_ca_path": cannot read \/nonexistent\/ca.pem: ENOENT$/],
    ],
    [
      'missing hash file',
      `ek_hash_path = "/nonexistent/h.txt"\n`,
      [/^key "ek_hash_path": cannot read \/nonexistent\/h.txt: ENOENT$/],
    ],
    [
      'bad hash line',
      `ek_hash_path = "BAD"\n`,
      [/^key "ek_hash_path": .*bad-hashes.txt:2: expected 64 hex digits \(a SHA-256\), got "not-a-hash"$/],
    ],
    ['empty allowlist', `ek_hash_path = "EMPTY"\n`, [/^key "ek_hash_path": .*empty.txt lists no EK hash/]],
    [
      'bad bank',
      `ek_hash_path = "HASHES"\npcr_selection = "md5:0"\n`,
      [/^key "pcr_selection": unknown PCR bank "md5"/],
    ],
    [
      'PCR 24',
      `ek_hash_path = "HASHES"\npcr_selection = "sha256:0-24"\n`,
      [/^key "pcr_selection": sha256: PCR index 24 is beyond 23$/],
    ],
    [
      'bank twice in a list',
      `ek_hash_path = "HASHES"\npcr_selection = ["sha256:0", "sha256:1"]\n`,
      [/^key "pcr_selection": PCR bank sha256 is selected twice$/],
    ],
    [
      'bad list item',
      `ek_hash_path = "HASHES"\npcr_selection = ["sha256:0", "sha1"]\n`,
      [/^key "pcr_selection\[1\]": expected "<bank>:<pcrs>"/],
    ],
    [
      'number selection',
      `ek_hash_path = "HASHES"\npcr_selection = 7\n`,
      [/^key "pcr_selection": expected a PCR selection/],
    ],
    [
      'policy PCR not quoted',
      `ek_hash_path = "HASHES"\npcr_policy_path = "P16"\n`,
      [
        /^key "pcr_policy_path": the policy lists sha256 PCR 16, which pcr_selection \("sha256:0,1,2,3,4,5,6,7"\) does not quote$/,
      ],
    ],
    [
      'policy bank not quoted',
      `ek_hash_path = "HASHES"\npcr_policy_path = "PSHA1"\n`,
      [/^key "pcr_policy_path": the policy is for the sha1 bank/],
    ],
    [
      'policy file missing',
      `ek_hash_path = "HASHES"\npcr_policy_path = "/nonexistent/p.json"\n`,
      [/^key "pcr_policy_path": tpm policy \/nonexistent\/p.json: cannot read/],
    ],
    [
      'ek_allow_sha1 as a string',
      `ek_hash_path = "HASHES"\nek_allow_sha1 = "yes"\n`,
      [/^key "ek_allow_sha1": expected a bool \(true or false\), got string$/],
    ],
    [
      'ek_require_eku as a number',
      `ek_hash_path = "HASHES"\nek_require_eku = 1\n`,
      [/^key "ek_require_eku": expected a bool \(true or false\), got integer 1$/],
    ],
    ['bad log level', `ek_hash_path = "HASHES"\nlog_level = "loud"\n`, [/^key "log_level": expected one of/]],
    ['not HCL', `ek_hash_path = `, [/^configuration is not valid HCL/]],
  ])('%s -> notes naming the key', (_name, hcl, expected) => {
    const text = hcl
      .replace('CAS', cas)
      .replace('"HASHES"', JSON.stringify(hashes))
      .replace('"BAD"', JSON.stringify(join(dir, 'bad-hashes.txt')))
      .replace('"EMPTY"', JSON.stringify(join(dir, 'empty.txt')))
      .replace('"P16"', JSON.stringify(join(dir, 'policy-16.json')))
      .replace('"PSHA1"', JSON.stringify(join(dir, 'policy-sha1.json')));
    const r = build(text);
    expect('notes' in r).toBe(true);
    const notes = 'notes' in r ? r.notes : [];
    expect(notes).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(notes[i]).toMatch(re));
  });

  test('several bad keys are all reported at once', () => {
    const r = build(`ek_trust = "x"\npcr_selection = "sha9:1"\nverifier = 3\n`);
    const notes = 'notes' in r ? r.notes : [];
    expect(notes.map((n) => /key "([a-z_]+)"/.exec(n)?.[1])).toEqual(['ek_trust', 'pcr_selection', 'verifier']);
  });

  test('loadEkHashes reads a directory of files', () => {
    const r = loadEkHashes(join(dir, 'hashdir'));
    expect('hashes' in r && [...r.hashes].sort()).toEqual([H, 'cd'.repeat(32)]);
  });
});
