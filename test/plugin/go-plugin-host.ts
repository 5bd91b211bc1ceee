// Test-side go-plugin host: starts a BUILT plugin executable the way spire-server /
// spire-agent do (magic cookie env, stdout/stderr piped), reads the handshake and
// dials the plugin over plaintext gRPC on its unix socket.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DescService } from '@bufbuild/protobuf';
import type { Client } from '@grpc/grpc-js';
import { createServiceClient, dialInsecure, type ServiceClient } from '../../plugin-sdk/grpc-adapter';

export const ROOT = resolve(__dirname, '../..');
export const AGENT_EXE = join(ROOT, 'dist/tpm-quote-agent');
export const SERVER_EXE = join(ROOT, 'dist/tpm-quote-server');

/** The env SPIRE adds for a NodeAttestor plugin (docs/design.md section 1). */
export function hostEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NodeAttestor: 'NodeAttestor',
    PLUGIN_PROTOCOL_VERSIONS: '1',
    PLUGIN_MIN_PORT: '10000',
    PLUGIN_MAX_PORT: '25000',
    ...extra,
  };
}

export const HANDSHAKE_RE = /^1\|1\|unix\|(\/[^|\n]+)\|grpc\n/;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started plugin process with its captured output. */
export interface PluginProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (stdio closed). */
  exited: Promise<Exit>;
  /** Test-owned directory passed as PLUGIN_UNIX_SOCKET_DIR. */
  socketBase: string;
}

/** Starts `exe` with the host env; throws if the bundle was not built. */
export function startPlugin(exe: string, env: NodeJS.ProcessEnv = hostEnv()): PluginProcess {
  if (!existsSync(exe)) throw new Error(`${exe} missing: run \`npm run build\` first`);
  const socketBase = mkdtempSync(join(tmpdir(), 'tpmq-plugin-test-'));
  const child = spawn(exe, [], {
    env: { PLUGIN_UNIX_SOCKET_DIR: socketBase, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<Exit>((res) => child.on('close', (code, signal) => res({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited, socketBase };
}

/** Waits for the handshake line (at most `timeoutMs`) and returns the socket path. */
export async function waitForHandshake(p: PluginProcess, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = HANDSHAKE_RE.exec(p.stdout());
    if (m) return m[1];
    if (p.child.exitCode !== null || p.child.signalCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no handshake line; stdout=${JSON.stringify(p.stdout())} stderr=${p.stderr()}`);
}

/** A started plugin, handshaken and dialed. */
export interface Session {
  proc: PluginProcess;
  socketPath: string;
  channel: Client;
  client<S extends DescService>(service: S): ServiceClient<S>;
  /** Kills the process if still alive, closes the channel, removes the test's socket base dir. */
  dispose(): Promise<void>;
}

/** Starts and dials a plugin the way go-plugin's host does. */
export async function startSession(exe: string, env?: NodeJS.ProcessEnv): Promise<Session> {
  const proc = startPlugin(exe, env);
  const socketPath = await waitForHandshake(proc);
  const channel = dialInsecure(`unix:${socketPath}`);
  return {
    proc,
    socketPath,
    channel,
    client: (service) => createServiceClient(service, channel),
    async dispose() {
      channel.close();
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGKILL');
        await proc.exited;
      }
      rmSync(proc.socketBase, { recursive: true, force: true });
    },
  };
}

/** Resolves with the exit, or with "timeout" after `ms`. */
export function exitWithin(p: PluginProcess, ms: number): Promise<Exit | 'timeout'> {
  return Promise.race([p.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);
}

/** A parsed hclog JSON line. */
export type LogLine = Record<string, unknown> & { '@level': string; '@message': string; '@timestamp': string };

/** Parses every stderr line as JSON; throws on the first line that is not an object. */
export function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const v = JSON.parse(l) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`not a JSON object: ${l}`);
      return v as LogLine;
    });
}

/** Waits until a stderr log line has `@message` = message; returns it. */
export async function waitForLog(p: PluginProcess, message: string, timeoutMs = 15_000): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hit = logLines(p.stderr()).find((l) => l['@message'] === message);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no log line ${JSON.stringify(message)}; stderr=${p.stderr()}`);
}

/** A fresh private temp dir for test-owned sockets. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

let hashFile: string | undefined;

/**
 * The smallest plugin_data each side's config schema accepts (the server must be
 * given some EK trust: here an allowlist file holding one hash).
 */
export function validPluginData(exe: string): string {
  if (exe === AGENT_EXE) return '';
  if (!hashFile) {
    const dir = mkdtempSync(join(tmpdir(), 'tpmq-plugin-cfg-'));
    hashFile = join(dir, 'ek-hashes.txt');
    writeFileSync(hashFile, `${'ab'.repeat(32)}\n`);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return `ek_hash_path = ${JSON.stringify(hashFile)}\n`;
}
