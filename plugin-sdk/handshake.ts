import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** go-plugin's core protocol version and the app protocol version SPIRE uses. */
export const CORE_PROTOCOL_VERSION = 1;
export const APP_PROTOCOL_VERSION = 1;

/** Why the executable refuses to start; printed to stderr by serve(), which then exits 1. */
export class HandshakeRefused extends Error {
  override readonly name = 'HandshakeRefused';
}

/**
 * Checks that we were started by a go-plugin host for `pluginType` (SPIRE sets the
 * magic cookie `<type>=<type>`, e.g. NodeAttestor=NodeAttestor) and that the host
 * speaks app protocol 1 without AutoMTLS. Throws HandshakeRefused with a human
 * explanation otherwise.
 */
export function checkHost(pluginType: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env[pluginType] !== pluginType) {
    throw new HandshakeRefused(
      `This executable is a SPIRE ${pluginType} plugin; it is not meant to be run by hand.\n` +
        `SPIRE (spire-server or spire-agent) starts it itself: name it as plugin_cmd in a ` +
        `${pluginType} "tpm_quote" { ... } block of the SPIRE configuration, with plugin_checksum ` +
        `set to its SHA-256.\n(Missing magic cookie: environment variable ${pluginType}=${pluginType}.)`,
    );
  }
  const versions = env.PLUGIN_PROTOCOL_VERSIONS;
  if (
    versions !== undefined &&
    versions !== '' &&
    !versions
      .split(',')
      .map((v) => v.trim())
      .includes(String(APP_PROTOCOL_VERSION))
  ) {
    throw new HandshakeRefused(
      `plugin host offers protocol versions ${JSON.stringify(versions)}; this plugin speaks only version ${APP_PROTOCOL_VERSION}`,
    );
  }
  if (env.PLUGIN_CLIENT_CERT) {
    throw new HandshakeRefused(
      'plugin host asked for AutoMTLS (PLUGIN_CLIENT_CERT set); this plugin supports only plaintext gRPC over a private unix socket',
    );
  }
}

/** A private socket directory and the socket path inside it. */
export interface SocketDir {
  dir: string;
  socketPath: string;
  /** Removes the directory and everything in it; safe to call twice. */
  remove(): void;
}

// sun_path is 108 bytes on Linux including the terminating NUL.
const MAX_SOCKET_PATH = 107;

/**
 * Creates a fresh 0700 directory (under PLUGIN_UNIX_SOCKET_DIR when set, else the
 * OS temp dir) to hold the plugin's unix socket.
 */
export function createSocketDir(env: NodeJS.ProcessEnv = process.env): SocketDir {
  const base = resolve(env.PLUGIN_UNIX_SOCKET_DIR || tmpdir());
  const dir = mkdtempSync(join(base, 'plugin'));
  const socketPath = join(dir, 'plugin.sock');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    rmSync(dir, { recursive: true, force: true });
    throw new HandshakeRefused(
      `unix socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes; set PLUGIN_UNIX_SOCKET_DIR to a shorter directory`,
    );
  }
  return {
    dir,
    socketPath,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The go-plugin handshake line for a unix socket, newline included. Never a 6th or 7th field. */
export function handshakeLine(socketPath: string): string {
  return `${CORE_PROTOCOL_VERSION}|${APP_PROTOCOL_VERSION}|unix|${socketPath}|grpc\n`;
}
