// dist/tpm_quote/ executables (static launcher + pinned lib/ + bundled code): every lib/ file is pinned,
// any tampered, missing or unpinned piece stops the start with one error line naming it, node and the
// loader take no code from the environment, and an intact one serves the plugin over go-plugin gRPC.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Init } from '../../proto/gen/spire/service/private/init/v1/init_pb';
import { exitWithin, hostEnv, logLines, ROOT, startPlugin, startSession } from './go-plugin-host';

const DIST = join(ROOT, 'dist/tpm_quote');
const NAMES = ['tpm-quote-agent', 'tpm-quote-server'] as const;

/** The raw manifest appended to a launcher executable (located by its 24-byte trailer). */
function manifestBytesOf(exe: string): Buffer {
  const bytes = readFileSync(exe);
  const trailer = bytes.subarray(bytes.length - 24);
  expect(trailer.subarray(16).toString('latin1')).toBe('TPMQPLD1');
  const offset = Number(trailer.readBigUInt64LE(0));
  const length = Number(trailer.readBigUInt64LE(8));
  return bytes.subarray(offset, offset + length);
}

/** The manifest appended to a launcher executable. */
function manifestOf(exe: string): {
  files: { path: string; sha256: string }[];
  payload: { offset: number; length: number };
  codeCache: { offset: number; length: number };
} {
  return JSON.parse(manifestBytesOf(exe).toString('utf8'));
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tpmq-plugin-dir-'));
  cpSync(DIST, join(dir, 'tpm_quote'), { recursive: true });
  dir = join(dir, 'tpm_quote');
});
afterAll(() => {
  // The launcher's verification records for this copy (packaging/launcher/verifycache.go: SHA-256 of the
  // directory, a NUL and the manifest), so that test runs leave none behind in /run/tpm_quote.
  for (const name of [...NAMES, 'tpm-quote']) {
    const record = createHash('sha256')
      .update(realpathSync(dir))
      .update('\0')
      .update(manifestBytesOf(join(dir, name)));
    rmSync(`/run/tpm_quote/${record.digest('hex')}.json`, { force: true });
  }
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

/** Runs `name` from the test's copy, expects a refusal: exit 1, nothing on stdout, one error line. */
async function expectRefusal(name: string, message: RegExp): Promise<void> {
  const p = startPlugin(join(dir, name), hostEnv());
  try {
    expect(await exitWithin(p, 60_000)).toEqual({ code: 1, signal: null });
    expect(p.stdout()).toBe('');
    const lines = logLines(p.stderr()).filter((l) => l['@level'] !== 'debug');
    expect(lines).toHaveLength(1);
    expect(lines[0]['@level']).toBe('error');
    expect(lines[0]['@message']).toMatch(new RegExp(`^${name}: refusing to start: `));
    expect(lines[0]['@message']).toMatch(message);
  } finally {
    rmSync(p.socketBase, { recursive: true, force: true });
  }
}

/** Runs `fn` with the copy's file `rel` replaced by `mutate(original)`, then puts the original back. */
async function withTampered(rel: string, mutate: (b: Buffer) => Buffer, fn: () => Promise<void>): Promise<void> {
  const file = join(dir, rel);
  const original = readFileSync(file);
  writeFileSync(file, mutate(Buffer.from(original)));
  try {
    await fn();
  } finally {
    copyFileSync(join(DIST, rel), file);
  }
}

const flipByte = (at: (b: Buffer) => number) => (b: Buffer) => {
  b[at(b)] ^= 0x01;
  return b;
};

describe.each(NAMES)('%s', (name) => {
  test('pins every file of lib/ (and nothing else), and carries the bundle as its payload', () => {
    const m = manifestOf(join(DIST, name));
    expect(m.files.map((f) => f.path).sort()).toEqual(
      readdirSync(join(DIST, 'lib'))
        .map((f) => `lib/${f}`)
        .sort(),
    );
    const bundle = readFileSync(join(ROOT, 'dist', name));
    expect(m.payload.length).toBe(bundle.length);
    expect(
      readFileSync(join(DIST, name))
        .subarray(m.payload.offset, m.payload.offset + m.payload.length)
        .equals(bundle),
    ).toBe(true);
  });

  test('serves over go-plugin gRPC with no node on PATH, ignoring NODE_OPTIONS, LD_PRELOAD and NODE_EXTRA_CA_CERTS', async () => {
    const s = await startSession(
      join(dir, name),
      hostEnv({
        PATH: '/nonexistent',
        NODE_OPTIONS: '--require /nonexistent/inject.js',
        LD_PRELOAD: '/nonexistent/inject.so',
        // node would warn "Ignoring extra certs from ..." about a file it cannot load.
        NODE_EXTRA_CA_CERTS: '/nonexistent/extra-ca.pem',
      }),
    );
    try {
      const init = await s.client(Init).init({ hostServiceNames: [] });
      expect(init.pluginServiceNames).toHaveLength(2);
      expect(s.proc.stderr()).not.toMatch(/inject|extra-ca/);
      const verified = logLines(s.proc.stderr()).find((l) => l['@message'] === 'launcher: plugin directory verified');
      expect(verified).toMatchObject({
        '@level': 'debug',
        '@module': 'launcher',
        files: readdirSync(join(DIST, 'lib')).length,
      });
      // V8 took the code cache made at build time (else every start compiles the bundle again).
      const loaded = logLines(s.proc.stderr()).find((l) => l['@message'] === 'launcher: plugin code loaded');
      expect(loaded).toMatchObject({ '@level': 'debug', code_cache: 'accepted' });
    } finally {
      await s.dispose();
    }
  });

  test('started through a symlink in another directory, finds lib/ beside the real file', async () => {
    const link = join(dir, '..', `link-${name}`);
    symlinkSync(join(dir, name), link);
    const s = await startSession(link, hostEnv({ PATH: '/nonexistent' }));
    await s.dispose();
  });

  test('a changed byte in its bundled code is refused', async () => {
    const { payload } = manifestOf(join(DIST, name));
    await withTampered(
      name,
      flipByte(() => payload.offset + (payload.length >> 1)),
      () => expectRefusal(name, /the plugin code in .* does not match the SHA-256 pinned in it/),
    );
  });

  test('a changed byte in its code cache is refused', async () => {
    const { codeCache } = manifestOf(join(DIST, name));
    expect(codeCache.length).toBeGreaterThan(0);
    await withTampered(
      name,
      flipByte(() => codeCache.offset + (codeCache.length >> 1)),
      () => expectRefusal(name, /the code cache in .* does not match the SHA-256 pinned in it/),
    );
  });

  test('a damaged trailer is refused', async () => {
    await withTampered(
      name,
      flipByte((b) => b.length - 1),
      () => expectRefusal(name, /has no plugin trailer/),
    );
  });
});

describe('lib/ tampering (the agent executable; both share one launcher)', () => {
  const name = NAMES[0];

  /** Starts the agent executable of the copy to its handshake; returns its "verified" debug line. */
  async function verifiedLine(env: NodeJS.ProcessEnv = {}) {
    const s = await startSession(join(dir, name), hostEnv(env));
    try {
      return logLines(s.proc.stderr()).find((l) => l['@message'] === 'launcher: plugin directory verified');
    } finally {
      await s.dispose();
    }
  }

  // The verification record (/run/tpm_quote, root only) lets a start skip hashing lib/ while no file has
  // changed since it was last hashed; any write to a file changes its ctime, and the next start hashes again.
  test('a start skips hashing lib/ only while its files are as last verified (as root), and a change is refused', async () => {
    expect(await verifiedLine({ TPM_QUOTE_VERIFY_CACHE: 'off' })).toMatchObject({ cached: false });
    // Files are recorded only once their ctime is older than the start by 2 s (a write in the same clock
    // tick could leave the ctime as recorded).
    await new Promise((r) => setTimeout(r, 2_100));
    await verifiedLine();
    const root = process.getuid?.() === 0;
    expect(await verifiedLine()).toMatchObject({ cached: root });
    expect(await verifiedLine({ TPM_QUOTE_VERIFY_CACHE: 'off' })).toMatchObject({ cached: false });
    await withTampered(
      'lib/libm.so.6',
      flipByte((b) => b.length >> 1),
      () => expectRefusal(name, /lib\/libm\.so\.6 does not match the SHA-256 pinned in this executable/),
    );
    // Put back (a new ctime): hashed again, not taken from the record.
    expect(await verifiedLine()).toMatchObject({ cached: false });
  });

  test.each(['lib/node', 'lib/ld-linux-x86-64.so.2', 'lib/libc.so.6'])(
    'a changed byte in %s is refused, naming it',
    async (rel) => {
      await withTampered(
        rel,
        flipByte((b) => b.length >> 1),
        () =>
          expectRefusal(
            name,
            new RegExp(`${rel.replace(/\./g, '\\.')} does not match the SHA-256 pinned in this executable`),
          ),
      );
    },
  );

  // lib/ files are checked in chunks: the last one, and the size, count as much as the first.
  test.each([
    ['its last byte changed', flipByte((b) => b.length - 1)],
    ['one byte appended', (b: Buffer) => Buffer.concat([b, Buffer.of(0)])],
    ['its last byte cut', (b: Buffer) => b.subarray(0, b.length - 1)],
  ])('lib/node with %s is refused, naming it', async (_what, mutate) => {
    await withTampered('lib/node', mutate, () =>
      expectRefusal(name, /lib\/node does not match the SHA-256 pinned in this executable/),
    );
  });

  // The loader searches lib/glibc-hwcaps/<level>/ before lib/: an unpinned library there would replace a pinned one.
  test.each([
    ['lib/glibc-hwcaps', 'glibc-hwcaps/x86-64-v3/libm.so.6'],
    ['lib/libextra.so.1', 'libextra.so.1'],
  ])('an unpinned %s in lib/ is refused, naming it', async (named, rel) => {
    const extra = join(dir, 'lib', rel);
    mkdirSync(join(extra, '..'), { recursive: true });
    copyFileSync(join(DIST, 'lib/libm.so.6'), extra);
    try {
      await expectRefusal(name, new RegExp(`${named.replace(/\./g, '\\.')} is not pinned by this executable`));
    } finally {
      rmSync(join(dir, named), { recursive: true, force: true });
    }
  });

  test('a missing lib/node is refused, naming it', async () => {
    renameSync(join(dir, 'lib/node'), join(dir, 'node.away'));
    try {
      await expectRefusal(name, /lib\/node: no such file or directory/);
    } finally {
      renameSync(join(dir, 'node.away'), join(dir, 'lib/node'));
    }
  });
});

describe('tpm-quote (the operator CLI, a third executable on the same lib/)', () => {
  test('pins the same lib/ files as the plugins and carries dist/tpm-quote as its payload', () => {
    const m = manifestOf(join(DIST, 'tpm-quote'));
    expect(m.files).toEqual(manifestOf(join(DIST, 'tpm-quote-agent')).files);
    expect(
      readFileSync(join(DIST, 'tpm-quote'))
        .subarray(m.payload.offset, m.payload.offset + m.payload.length)
        .equals(readFileSync(join(ROOT, 'dist/tpm-quote'))),
    ).toBe(true);
  });

  test('a changed byte in its bundled code is refused', async () => {
    const { payload } = manifestOf(join(DIST, 'tpm-quote'));
    await withTampered(
      'tpm-quote',
      flipByte(() => payload.offset + (payload.length >> 1)),
      () => expectRefusal('tpm-quote', /the plugin code in .* does not match the SHA-256 pinned in it/),
    );
  });
});
