// go-plugin handshake of the built executables: cookie check, handshake line, stdout hygiene, socket dir.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Init } from '../../proto/gen/spire/service/private/init/v1/init_pb';
import { GRPCController } from '../../proto/gen/plugin/grpc_controller_pb';
import { AGENT_EXE, SERVER_EXE, exitWithin, hostEnv, startPlugin, startSession, HANDSHAKE_RE } from './go-plugin-host';

const executables = [
  ['agent', AGENT_EXE],
  ['server', SERVER_EXE],
] as const;

describe.each(executables)('%s executable handshake', (_side, exe) => {
  test('without the magic cookie: explanation on stderr, nothing on stdout, exit 1', async () => {
    const env = hostEnv();
    delete env.NodeAttestor;
    const p = startPlugin(exe, env);
    const exit = await exitWithin(p, 10_000);
    expect(exit).toEqual({ code: 1, signal: null });
    expect(p.stdout()).toBe('');
    expect(p.stderr()).toMatch(/SPIRE NodeAttestor plugin/);
    expect(p.stderr()).toMatch(/NodeAttestor=NodeAttestor/);
  });

  test('a wrong cookie value is refused too', async () => {
    const p = startPlugin(exe, hostEnv({ NodeAttestor: 'KeyManager' }));
    expect(await exitWithin(p, 10_000)).toEqual({ code: 1, signal: null });
    expect(p.stdout()).toBe('');
  });

  test('a host without protocol version 1 is refused', async () => {
    const p = startPlugin(exe, hostEnv({ PLUGIN_PROTOCOL_VERSIONS: '2,3' }));
    expect(await exitWithin(p, 10_000)).toEqual({ code: 1, signal: null });
    expect(p.stderr()).toMatch(/protocol version/);
    expect(p.stdout()).toBe('');
  });

  test('handshake line is the only stdout output; socket listens in a fresh 0700 dir under PLUGIN_UNIX_SOCKET_DIR', async () => {
    const s = await startSession(exe);
    try {
      const stdout = s.proc.stdout();
      expect(stdout).toMatch(HANDSHAKE_RE);
      expect(stdout.split('|')).toHaveLength(5); // never a certificate or multiplex field
      const dir = dirname(s.socketPath);
      expect(dirname(dir)).toBe(s.proc.socketBase);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(s.socketPath).isSocket()).toBe(true);
      // a full conversation must not add a single stdout byte
      const init = await s.client(Init).init({ hostServiceNames: [] });
      expect(init.pluginServiceNames).toHaveLength(2);
      await s.client(GRPCController).shutdown({});
      expect(await exitWithin(s.proc, 2_000)).not.toBe('timeout');
      expect(s.proc.stdout()).toBe(stdout);
      expect(stdout).toBe(`1|1|unix|${s.socketPath}|grpc\n`);
    } finally {
      await s.dispose();
    }
  });

  test('starts without NODE_EXTRA_CA_CERTS, as the launcher starts it (node would parse that file first)', async () => {
    // node warns "Ignoring extra certs from ..." at start about a file it cannot load.
    const s = await startSession(exe, hostEnv({ NODE_EXTRA_CA_CERTS: '/nonexistent/extra-ca.pem' }));
    try {
      await s.client(Init).init({ hostServiceNames: [] });
      expect(s.proc.stderr()).not.toMatch(/extra-ca/);
    } finally {
      await s.dispose();
    }
  });
});
