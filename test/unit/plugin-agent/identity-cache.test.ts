// The agent's identity cache: when it answers, and every reason it does not; its file in ak_data_dir (read
// back by a new cache, as after a restart), and every way that file is refused, deleted and never fatal.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentityCache, identityKey } from '../../../plugin-agent/identity-cache';
import {
  encodeIdentityRecord,
  IdentityFileError,
  identityFilePath,
  MAX_IDENTITY_FILE_BYTES,
  parseIdentityRecord,
  type IdentityRecord,
} from '../../../plugin-agent/identity-file';
import { byteMutator } from '../../helpers/mutator';
import { rng } from '../../helpers/rng';
import { parseTpm2bPublic, tpmName, type SessionIdentity, type TpmInfo } from '../../../tpm';

const identity = { facts: { manufacturer: 'IBM' } } as unknown as SessionIdentity<TpmInfo>;
const quoted = { resetCount: 3, firmwareVersion: 0x2019_0000_0000_0001n };

test('answers within max age under the same key, and says why not otherwise', async () => {
  let now = 1_000;
  const c = createIdentityCache({ now: () => now });
  const key = identityKey({ tpm: 'swtpm:port=1', ak_handle: 0x81000100 });
  expect(await c.lookup(key, 60_000)).toEqual({ miss: 'nothing cached' });
  await c.fill(key, identity, quoted);
  expect(await c.lookup(key, 60_000)).toEqual({ identity, from: 'memory' });
  expect(await c.lookup(key, 0)).toEqual({ miss: 'identity_cache_max_age is 0' });
  expect(await c.lookup(identityKey({ tpm: 'swtpm:port=1', ak_handle: 0x81000101 }), 60_000)).toEqual({
    miss: 'configuration changed',
  });
  now += 59_999;
  expect(await c.lookup(key, 60_000)).toEqual({ identity, from: 'memory' });
  now += 1;
  expect(await c.lookup(key, 60_000)).toEqual({ miss: 'older than identity_cache_max_age' });
});

test('a key covers every part: another EK certificate file or a missing part is another key', () => {
  const a = identityKey({ tpm: 't', ek_certificate: new Uint8Array([1]) });
  expect(identityKey({ tpm: 't', ek_certificate: new Uint8Array([1]) })).toBe(a);
  expect(identityKey({ tpm: 't', ek_certificate: new Uint8Array([2]) })).not.toBe(a);
  expect(identityKey({ tpm: 't', ek_certificate: undefined })).not.toBe(a);
});

test.each([
  [{ ...quoted, resetCount: 4 }, 'the TPM was reset (resetCount moved)'],
  [{ ...quoted, firmwareVersion: 0x2019_0000_0000_0002n }, 'the TPM firmware version changed'],
])('a quote showing a reset or new firmware drops it: %o', async (later, why) => {
  const c = createIdentityCache();
  await c.fill('k', identity, quoted);
  expect(await c.checkQuote(quoted)).toBeUndefined();
  expect(await c.lookup('k', 60_000)).toEqual({ identity, from: 'memory' });
  expect(await c.checkQuote(later)).toBe(why);
  expect(await c.lookup('k', 60_000)).toEqual({ miss: 'nothing cached' });
});

test('drop() forgets it', async () => {
  const c = createIdentityCache();
  await c.fill('k', identity, quoted);
  await c.drop();
  expect(await c.lookup('k', 60_000)).toEqual({ miss: 'nothing cached' });
});

describe('the cache file in ak_data_dir', () => {
  const fixture = (name: string) => new Uint8Array(readFileSync(join(__dirname, '../../fixtures/tpm', name)));
  const ekPub = parseTpm2bPublic(fixture('ek-rsa.pub'));
  const akPub = parseTpm2bPublic(fixture('ak-rsa.pub'));
  // A real identity: the swtpm capture's RSA EK with its certificate, and an AK at a persistent handle.
  const real: SessionIdentity<TpmInfo> = {
    facts: {
      manufacturer: 'IBM',
      manufacturerId: 0x49424d00,
      vendor: 'SW   TPM',
      firmwareVersion: '8217.4131.22.13354',
      family: '2.0',
      level: 0,
      revision: 164,
      pcrBanks: [{ hash: 0x0b, hashName: 'sha256', pcrs: [0, 1, 2, 23] }],
    },
    ek: {
      kind: 'rsa2048',
      public: ekPub,
      name: tpmName(ekPub),
      certificate: fixture('ek-rsa-cert.der'),
      certIndex: 0x01c00002,
      persistentHandle: 0x81010001,
      intermediates: [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])],
    },
    ak: { handle: 0x81000100, public: akPub, name: tpmName(akPub) },
  };
  const key = identityKey({ tpm: 'swtpm:port=1' });
  const record: IdentityRecord = { key, identity: real, quoted, filledAt: 1_000 };
  const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
  const log = { warn: (m: string, f?: Record<string, unknown>) => warnings.push([m, f]), debug: () => undefined };
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'identity-file-'));
    file = identityFilePath(dir);
    warnings.length = 0;
  });
  // A new cache (as after an agent restart) looking the file up.
  const restarted = (now = 2_000) => createIdentityCache({ now: () => now, log });

  test('written by fill (mode 0600, no temporary left) and read back whole by a new cache', async () => {
    await createIdentityCache({ now: () => 1_000, log }).fill(key, real, quoted, file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.${process.pid}.tmp`)).toBe(false);
    const r = await restarted().lookup(key, 60_000, file);
    expect(r.from).toBe('file');
    expect(r.identity).toEqual(real);
    expect(parseIdentityRecord(readFileSync(file, 'utf8'))).toEqual(record);
    expect(warnings).toEqual([]);
  });

  test('another configuration digest or an age over identity_cache_max_age misses; max age 0 never reads it', async () => {
    writeFileSync(file, encodeIdentityRecord(record));
    expect(await restarted().lookup(identityKey({ tpm: 'swtpm:port=2' }), 60_000, file)).toEqual({
      miss: 'configuration changed',
    });
    expect(await restarted(61_000).lookup(key, 60_000, file)).toEqual({ miss: 'older than identity_cache_max_age' });
    expect(await restarted().lookup(key, 0, file)).toEqual({ miss: 'identity_cache_max_age is 0' });
    // A file written "in the future" cannot extend its own age.
    writeFileSync(file, encodeIdentityRecord({ ...record, filledAt: 5_000 }));
    expect(await restarted().lookup(key, 60_000, file)).toEqual({ miss: 'cache file not valid' });
    expect(existsSync(file)).toBe(false);
  });

  const valid = JSON.parse(encodeIdentityRecord(record)) as Record<string, unknown>;
  const ek = valid.ek as Record<string, unknown>;
  test.each<[string, string, RegExp]>([
    ['not JSON', '{"version":1,', /not JSON/],
    ['another version', JSON.stringify({ ...valid, version: 2 }), /version 2, expected 1/],
    ['no version', JSON.stringify({ ...valid, version: undefined }), /version undefined, expected 1/],
    ['an unknown key', JSON.stringify({ ...valid, extra: 1 }), /file\.extra: unknown key/],
    ['a missing key', JSON.stringify({ ...valid, facts: undefined }), /file\.facts: missing/],
    ['a bad key digest', JSON.stringify({ ...valid, key: 'abc' }), /key: not a valid string/],
    ['an unknown EK kind', JSON.stringify({ ...valid, ek: { ...ek, kind: 'rsa1024' } }), /ek\.kind: unknown EK kind/],
    [
      'a truncated EK public',
      JSON.stringify({ ...valid, ek: { ...ek, public: 'AAEACw==' } }),
      /ek\.public: not a TPMT_PUBLIC/,
    ],
    [
      'a certificate for another key',
      JSON.stringify({
        ...valid,
        ek: { ...ek, certificate: Buffer.from(fixture('ek-ecc-cert.der')).toString('base64') },
      }),
      /ek\.certificate: does not certify ek\.public/,
    ],
    [
      'too many intermediates',
      JSON.stringify({ ...valid, ek: { ...ek, intermediates: Array(9).fill('MAMCAQE=') } }),
      /ek\.intermediates: not a list of at most 8/,
    ],
    [
      'non-canonical base64',
      JSON.stringify({ ...valid, ek: { ...ek, intermediates: ['MAMCAQE'] } }),
      /ek\.intermediates\[0\]: not canonical base64/,
    ],
    [
      'a negative handle',
      JSON.stringify({ ...valid, ak: { ...(valid.ak as object), handle: -1 } }),
      /ak\.handle: not an integer/,
    ],
    [
      'a 65-bit firmware version',
      JSON.stringify({ ...valid, quoted: { resetCount: 3, firmwareVersion: '36893488147419103232' } }),
      /over 64 bits/,
    ],
  ])('%s: refused naming the field, deleted, full path', async (_what, body, why) => {
    expect(() => parseIdentityRecord(body)).toThrow(why);
    writeFileSync(file, body);
    expect(await restarted().lookup(key, 60_000, file)).toEqual({ miss: 'cache file not valid' });
    expect(existsSync(file)).toBe(false);
    expect(warnings).toEqual([
      [
        'TPM identity cache file is not valid; deleted, reading the identity',
        { file, error: expect.stringMatching(why) },
      ],
    ]);
  });

  test('property: mutated files and wrong-typed fields either parse or fail with IdentityFileError, nothing else', () => {
    const text = encodeIdentityRecord(record);
    const mutate = byteMutator(0x1d3e);
    const next = rng(0x1d3e);
    const odd = [null, -1, 1.5, 2 ** 53, '', 'x'.repeat(70), [], {}, true, '__proto__'];
    // Each leaf of the valid JSON (by path), replaced by each odd value.
    const paths: string[][] = [];
    const walk = (v: unknown, path: string[]) => {
      if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...path, k]);
      else paths.push(path);
    };
    walk(JSON.parse(text), []);
    const inputs: string[] = [];
    for (let i = 0; i < 2000; i++) inputs.push(Buffer.from(mutate(new TextEncoder().encode(text))).toString('latin1'));
    for (const path of paths)
      for (const v of odd) {
        const j = JSON.parse(text) as Record<string, unknown>;
        let at = j;
        for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
        at[path[path.length - 1]] = v;
        inputs.push(JSON.stringify(j));
      }
    for (let i = 0; i < 200; i++) inputs.push(text.slice(0, Math.floor(next() * text.length)));
    let refused = 0;
    for (const input of inputs) {
      try {
        parseIdentityRecord(input);
      } catch (e) {
        expect(e).toBeInstanceOf(IdentityFileError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(inputs.length / 2);
  });

  test('a file over the size bound is not read: deleted, full path', async () => {
    writeFileSync(file, Buffer.alloc(MAX_IDENTITY_FILE_BYTES + 1, 0x20));
    expect(await restarted().lookup(key, 60_000, file)).toEqual({ miss: 'cache file unreadable' });
    expect(existsSync(file)).toBe(false);
    expect(warnings[0][1]?.error).toBe(
      `TPM identity cache file ${file}: ${MAX_IDENTITY_FILE_BYTES + 1} bytes, larger than ${MAX_IDENTITY_FILE_BYTES}`,
    );
  });

  test('an unwritable place: fill logs it naming the file and does not throw; the identity stays in memory', async () => {
    // A directory where the file should be: neither readable as a file, nor replaceable, nor deletable.
    mkdirSync(file);
    const c = restarted();
    expect(await c.lookup(key, 60_000, file)).toEqual({ miss: 'cache file unreadable' });
    await expect(c.fill(key, real, quoted, file)).resolves.toBeUndefined();
    expect(await c.lookup(key, 60_000, file)).toEqual({ identity: real, from: 'memory' });
    expect(warnings.map(([m]) => m)).toEqual([
      'cannot read the TPM identity cache file; reading the identity',
      'cannot delete the TPM identity cache file',
      'cannot write the TPM identity cache file; the next agent start reads the identity again',
      'cannot delete the TPM identity cache file',
    ]);
    expect(warnings[2][1]).toEqual({
      file,
      error: expect.stringContaining(`TPM identity cache file ${file}: cannot replace it`),
    });
    // ak_data_dir under a regular file: the directory cannot be made.
    const under = identityFilePath(join(file, '..', 'plain', 'sub'));
    writeFileSync(join(dir, 'plain'), '');
    await expect(restarted().fill(key, real, quoted, under)).resolves.toBeUndefined();
    expect(warnings.at(-1)?.[1]?.error).toMatch(/AK directory .*plain\/sub: cannot create it/);
  });

  test('a failed attestation (drop) or a reset seen in the quote deletes the file', async () => {
    const c = restarted();
    await c.fill(key, real, quoted, file);
    await c.drop();
    expect(existsSync(file)).toBe(false);
    await c.fill(key, real, quoted, file);
    const fresh = restarted();
    expect((await fresh.lookup(key, 60_000, file)).from).toBe('file');
    expect(await fresh.checkQuote({ ...quoted, resetCount: 4 })).toBe('the TPM was reset (resetCount moved)');
    expect(existsSync(file)).toBe(false);
  });
});
