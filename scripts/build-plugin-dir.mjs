// Assembles dist/tpm_quote/: the self-contained plugin directory (see packaging/launcher/main.go).
//
//   dist/tpm_quote/tpm-quote-agent, tpm-quote-server   static launcher + bundled plugin code + manifest
//   dist/tpm_quote/tpm-quote                           the same for the operator CLI (cli/)
//   dist/tpm_quote/lib/                                node (the one running this build), its dynamic
//                                                      loader and the libraries ldd lists for it
//
// Each executable's manifest pins every lib/ file by SHA-256, so plugin_checksum (SHA-256 of the
// executable) pins the whole directory. Beside the bundle each executable carries its V8 code cache
// (scripts/lib/make-code-cache.js, made under the V8 flags its manifest has the bootstrap set). Needs Go (the launcher is built with CGO_ENABLED=0; Go's build
// cache makes rebuilds take about a second) and ldd.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTs } from './lib/load-ts.mjs';

const TRAILER_MAGIC = 'TPMQPLD1';
// lib/ files are pinned by the SHA-256 of each 8 MiB chunk (the launcher checks chunks in parallel) and,
// for people comparing with sha256sum, of the whole file.
const CHUNK_SIZE = 8 << 20;
const LIB_DIR = 'lib';

/** The Go toolchain: $GO, else `go` on PATH, else the usual /usr/local/go install. */
function goCommand() {
  if (process.env.GO) return process.env.GO;
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return 'go';
  } catch {
    if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
    throw new Error('build-plugin-dir: Go is needed to build packaging/launcher (set GO=/path/to/go)');
  }
}

/** Builds the static launcher into a temp file and returns its bytes. */
async function buildLauncher(root) {
  const work = await mkdtemp(join(tmpdir(), 'tpmq-launcher-'));
  try {
    const out = join(work, 'launcher');
    execFileSync(goCommand(), ['build', '-trimpath', '-ldflags=-s -w', '-o', out, '.'], {
      cwd: join(root, 'packaging/launcher'),
      env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    return await readFile(out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * What node needs at run time, from `ldd node`: the dynamic loader ({ source, name }) and each library
 * ({ source, name } with name the soname node asks for). Fails when ldd reports a library not found.
 */
function runtimeFiles(node) {
  const text = execFileSync('ldd', [node], { encoding: 'utf8' });
  const libs = [];
  let loader;
  for (const line of text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    let m;
    if ((m = /^(\S+) => not found/.exec(line))) throw new Error(`build-plugin-dir: ldd ${node}: ${m[1]} not found`);
    if ((m = /^(\S+) => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line))) libs.push({ name: m[1], source: m[2] });
    else if ((m = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line))) loader = { name: basename(m[1]), source: m[1] };
    else if (!/^linux-vdso\.so\.\d+ \(0x[0-9a-f]+\)$/.test(line))
      throw new Error(`build-plugin-dir: unexpected ldd line: ${line}`);
  }
  if (!loader) throw new Error(`build-plugin-dir: ldd ${node} names no dynamic loader`);
  return { loader, libs: libs.filter((l) => l.name !== loader.name) };
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

const MAKE_CODE_CACHE = join(dirname(fileURLToPath(import.meta.url)), 'lib/make-code-cache.js');

/**
 * The calls SPIRE makes first, made to the plugin listening on `socketPath` so that the code they load
 * (deferred until after the handshake: docs/packaging.md, "Start-up and memory") is in the code cache too:
 * Health Check, Init, Config Validate (parses an empty configuration: nothing is configured), and each
 * method of the plugin's own service with no request, which fails FailedPrecondition (not configured)
 * once the implementation is loaded.
 */
async function warmUp(socketPath) {
  const { services, createServiceClient, dialInsecure } = await loadTs(`
export { services } from './proto/gen/services';
export { createServiceClient, dialInsecure } from './plugin-sdk/grpc-adapter';
`);
  const channel = dialInsecure(`unix:${socketPath}`);
  const client = (name) => createServiceClient(services[name], channel);
  try {
    await client('grpc.health.v1.Health').check({ service: 'plugin' });
    const { pluginServiceNames } = await client('spire.service.private.init.v1.Init').init({ hostServiceNames: [] });
    const validated = await client('spire.service.common.config.v1.Config').validate({
      coreConfiguration: { trustDomain: 'example.org' },
      hclConfiguration: '',
    });
    if (validated.valid === undefined) throw new Error('Config.Validate gave no answer');
    const own = services[pluginServiceNames[0]];
    if (!own) throw new Error(`Init named no known plugin service: ${pluginServiceNames.join(', ')}`);
    const plugin = client(own.typeName);
    for (const method of own.methods) {
      if (method.methodKind !== 'bidi_streaming') throw new Error(`warmUp: ${method.name} is not a stream`);
      const refused = await (async () => {
        try {
          for await (const _ of plugin[method.localName]((async function* () {})())) return undefined;
        } catch (e) {
          return e;
        }
      })();
      // 9: FAILED_PRECONDITION, from a loaded implementation asked before Configure.
      if (refused?.code !== 9) throw new Error(`warmUp: ${own.typeName}/${method.name}: ${refused?.message}`);
    }
  } finally {
    channel.close();
  }
}

/**
 * The V8 code cache of `bundle` made by this node (the one copied to lib/) under `v8Flags`, and the node
 * modules it loaded ({ cache, builtins }). `serve`: after the bundle has started as a go-plugin plugin (in a
 * temp socket dir) up to its handshake line and answered the calls of warmUp, so the cache holds what a
 * start and the first calls compile; `compile`: what V8 compiles eagerly (the CLI; no builtins listed).
 */
async function codeCache(bundle, v8Flags, mode) {
  const work = await mkdtemp(join(tmpdir(), 'tpmq-code-cache-'));
  const out = join(work, 'cache');
  try {
    const args = [MAKE_CODE_CACHE, bundle, out, mode, ...v8Flags];
    // The launcher drops NODE_OPTIONS: flags from it here would make a cache V8 refuses at run time.
    const { NODE_OPTIONS: _dropped, ...hostEnv } = process.env;
    if (mode === 'compile') {
      execFileSync(process.execPath, args, { env: hostEnv, stdio: ['ignore', 'ignore', 'inherit'] });
      return { cache: await readFile(out), builtins: [] };
    }
    const env = {
      ...hostEnv,
      NodeAttestor: 'NodeAttestor',
      PLUGIN_PROTOCOL_VERSIONS: '1',
      PLUGIN_UNIX_SOCKET_DIR: work,
      TPM_QUOTE_LOG_LEVEL: 'error',
    };
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.once('data', (line) => {
      child.kill('SIGUSR2');
      const builtinsWritten = async () => {
        while (!existsSync(`${out}.builtins`)) await new Promise((resolve) => setTimeout(resolve, 10));
      };
      builtinsWritten()
        .then(() => warmUp(String(line).split('|')[3]))
        .then(
          () => child.kill('SIGUSR2'),
          (e) => {
            err += `warm-up calls failed: ${e.stack}\n`;
            child.kill('SIGKILL');
          },
        );
    });
    const code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (c, signal) => resolve(c ?? signal));
    });
    if (code !== 0) throw new Error(`build-plugin-dir: making the code cache of ${bundle} failed (${code}): ${err}`);
    return { cache: await readFile(out), builtins: JSON.parse(await readFile(`${out}.builtins`, 'utf8')) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * One plugin executable: launcher, payload (the bundle), its code cache, manifest, trailer (manifest
 * offset and length as uint64 little endian, then the magic).
 */
function assemble(launcher, payload, { cache, builtins }, pins, v8Flags) {
  const manifest = Buffer.from(
    JSON.stringify({
      ...pins,
      v8Flags,
      preload: builtins,
      payload: { offset: launcher.length, length: payload.length, sha256: sha256(payload) },
      codeCache: { offset: launcher.length + payload.length, length: cache.length, sha256: sha256(cache) },
    }),
  );
  const trailer = Buffer.alloc(24);
  trailer.writeBigUInt64LE(BigInt(launcher.length + payload.length + cache.length), 0);
  trailer.writeBigUInt64LE(BigInt(manifest.length), 8);
  trailer.write(TRAILER_MAGIC, 16, 'latin1');
  return Buffer.concat([launcher, payload, cache, manifest, trailer]);
}

/**
 * Writes <root>/dist/tpm_quote/ afresh. `plugins` maps each executable name to { bundle (the host bundle
 * from scripts/build.mjs), v8Flags (set by the bootstrap once the node modules the plugin loads are
 * loaded), cache ('serve' or 'compile', see codeCache) }. Files are 0755 (executables, node, loader) or 0644.
 */
export async function buildPluginDir({ root, plugins }) {
  const dest = join(root, 'dist/tpm_quote');
  const stage = `${dest}.partial`;
  await rm(stage, { recursive: true, force: true });
  await mkdir(join(stage, LIB_DIR), { recursive: true });
  const node = await realpath(process.execPath);
  const { loader, libs } = runtimeFiles(node);
  const files = [
    { name: 'node', source: node, mode: 0o755 },
    { ...loader, mode: 0o755 },
    ...libs.map((l) => ({ ...l, mode: 0o644 })),
  ];
  const pinned = [];
  for (const f of files) {
    const rel = `${LIB_DIR}/${f.name}`;
    // copyFile, not writeFile of the bytes: one 100 MB write leaves node in the page cache as large
    // folios, and every later start of it then maps (and counts in its RSS) about 15 MB more.
    await copyFile(f.source, join(stage, rel)); // a symlink's target: the copy is a plain file
    await chmod(join(stage, rel), f.mode);
    const bytes = await readFile(join(stage, rel));
    const chunks = [];
    for (let at = 0; at < bytes.length; at += CHUNK_SIZE) chunks.push(sha256(bytes.subarray(at, at + CHUNK_SIZE)));
    pinned.push({ path: rel, sha256: sha256(bytes), size: bytes.length, chunks });
  }
  const pins = {
    loader: `${LIB_DIR}/${loader.name}`,
    libDir: LIB_DIR,
    node: `${LIB_DIR}/node`,
    chunkSize: CHUNK_SIZE,
    files: pinned,
  };
  const launcher = await buildLauncher(root);
  for (const [name, { bundle, v8Flags, cache }] of Object.entries(plugins)) {
    const exe = join(stage, name);
    const code = await codeCache(bundle, v8Flags, cache);
    await writeFile(exe, assemble(launcher, await readFile(bundle), code, pins, v8Flags));
    await chmod(exe, 0o755);
  }
  await chmod(stage, 0o755);
  await chmod(join(stage, LIB_DIR), 0o755);
  await rm(dest, { recursive: true, force: true });
  await rename(stage, dest);
  return dest;
}
