import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkHost, createSocketDir, handshakeLine, HandshakeRefused } from '../../../plugin-sdk/handshake';

describe('checkHost', () => {
  const ok = { NodeAttestor: 'NodeAttestor', PLUGIN_PROTOCOL_VERSIONS: '1' };
  test.each([
    [ok, null],
    [{ NodeAttestor: 'NodeAttestor' }, null],
    [{ ...ok, PLUGIN_PROTOCOL_VERSIONS: '3,1' }, null],
    [{}, /Missing magic cookie: environment variable NodeAttestor=NodeAttestor/],
    [{ NodeAttestor: 'nodeattestor' }, /magic cookie/],
    [{ ...ok, PLUGIN_PROTOCOL_VERSIONS: '2' }, /speaks only version 1/],
    [{ ...ok, PLUGIN_CLIENT_CERT: '-----BEGIN' }, /AutoMTLS/],
  ])('%j', (env, refusal) => {
    if (refusal === null) expect(() => checkHost('NodeAttestor', env)).not.toThrow();
    else
      expect(() => checkHost('NodeAttestor', env)).toThrow(
        expect.objectContaining({ name: 'HandshakeRefused', message: expect.stringMatching(refusal) }),
      );
  });
});

describe('createSocketDir', () => {
  test('fresh 0700 dir under PLUGIN_UNIX_SOCKET_DIR; remove() is idempotent', () => {
    const base = mkdtempSync(join(tmpdir(), 'sdk-sock-'));
    try {
      const a = createSocketDir({ PLUGIN_UNIX_SOCKET_DIR: base });
      const b = createSocketDir({ PLUGIN_UNIX_SOCKET_DIR: base });
      expect(a.dir).not.toBe(b.dir);
      expect(dirname(a.dir)).toBe(base);
      expect(dirname(a.socketPath)).toBe(a.dir);
      expect(statSync(a.dir).mode & 0o777).toBe(0o700);
      a.remove();
      a.remove();
      expect(existsSync(a.dir)).toBe(false);
      b.remove();
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test('a socket path too long for sun_path is refused and leaves nothing behind', () => {
    const base = mkdtempSync(join(tmpdir(), 'sdk-sock-'));
    const deep = join(base, 'x'.repeat(100));
    mkdirSync(deep);
    try {
      expect(() => createSocketDir({ PLUGIN_UNIX_SOCKET_DIR: deep })).toThrow(HandshakeRefused);
      expect(readdirSync(deep)).toEqual([]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

test('handshakeLine has exactly five fields and a newline', () => {
  expect(handshakeLine('/tmp/p/plugin.sock')).toBe('1|1|unix|/tmp/p/plugin.sock|grpc\n');
});
