// Stdout carries only the handshake: console.* and stray process.stdout writes are sent to stderr.
// Built with esbuild like the plugins, run as its own process.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { AGENT_EXE, ROOT, hostEnv } from './go-plugin-host';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tpmq-guard-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('after installStdoutGuard only writeHandshakeLine reaches stdout', () => {
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    `import { installStdoutGuard, writeHandshakeLine } from ${JSON.stringify(join(ROOT, 'plugin-sdk/stdout-guard'))};
installStdoutGuard();
writeHandshakeLine("HANDSHAKE\\n");
console.log("log %d", 1); console.info("info"); console.debug("debug"); console.trace("trace"); console.dir({ a: 1 });
process.stdout.write("raw\\n");
console.error("error");`,
  );
  const out = join(dir, 'guard.js');
  buildSync({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'cjs', logLevel: 'silent' });
  const r = spawnSync(process.execPath, [out], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout).toBe('HANDSHAKE\n');
  for (const text of ['log 1', 'info', 'debug', 'trace', '{ a: 1 }', 'raw', 'error']) expect(r.stderr).toContain(text);
});

test('the bundle runs with no node_modules around it', async () => {
  const exe = join(dir, 'tpm-quote-agent');
  copyFileSync(AGENT_EXE, exe);
  const r = spawnSync(exe, [], {
    cwd: dir,
    env: { ...hostEnv(), NODE_PATH: '', PLUGIN_UNIX_SOCKET_DIR: dir },
    encoding: 'utf8',
    timeout: 3_000,
    killSignal: 'SIGTERM',
  });
  // killed by our timeout after a successful handshake; SIGTERM makes it exit 0
  expect(r.stdout).toMatch(/^1\|1\|unix\|\/[^|]+\|grpc\n$/);
  expect(r.stderr).not.toMatch(/Cannot find module/);
});
