// Bundles each plugin, and the operator CLI, into one executable file (shebang, mode 0755) that needs no
// node_modules at run time: dist/tpm-quote-agent, dist/tpm-quote-server and dist/tpm-quote (run by the
// host's node; the host test suites use them). Then assembles dist/tpm_quote/, the self-contained plugin
// directory with the same bundles inside (scripts/build-plugin-dir.mjs): what the README installs.
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildPluginDir } from './build-plugin-dir.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// grpc-js loads @grpc/proto-loader (and with it protobufjs) only for channelz and ORCA: see the stub.
const withoutProtoLoader = {
  name: 'without-proto-loader',
  setup(b) {
    b.onResolve({ filter: /^@grpc\/proto-loader$/ }, () => ({ path: join(root, 'scripts/lib/proto-loader-stub.cjs') }));
  },
};
// grpc-js requires `dns` and `zlib` at load but a plugin only needs them for a client channel or a
// compressed message: each becomes a stand-in that loads the real module on first use
// (scripts/lib/lazy-builtin.cjs), so a start does not load them.
const LAZY_BUILTINS = ['dns', 'zlib'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(?:node:)?(${LAZY_BUILTINS.join('|')})$`);
    b.onResolve({ filter }, ({ path, importer }) =>
      importer.includes('/node_modules/@grpc/grpc-js/')
        ? { path: filter.exec(path)[1], namespace: 'lazy-builtin' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, ({ path }) => ({
      contents: `module.exports = require('./scripts/lib/lazy-builtin.cjs')(() => require('node:${path}'));`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};
// V8 flags for the plugins (docs/packaging.md, "Start-up and memory"): V8's heap sized for memory, and its
// young generation kept at its initial 1 MiB (without them, 4,000 cancelled Attest streams grew the server
// plugin's heap capacity, not its live data, to 2.5x its RSS, and 100 attestations the agent's by 10 MiB).
// The agent also runs without the optimising compiler (TurboFan: its code pages and compile memory cost
// more than it saves in a plugin whose time is TPM commands, and every node pays that memory), nor the
// baseline one (Sparkplug: 1.2 MiB less after 100 attestations, same CPU per attestation). The server
// keeps TurboFan: it verifies every node's attestations, and without it the server-side crypto of one
// attestation ran at half the rate (scripts/bench-server-crypto.mjs: 10.1k vs 4.1k per CPU-second), for
// ~4 MiB of RSS in one process per server. In dist/tpm_quote/ the bootstrap sets the flags once node's own
// modules are loaded: V8 refuses node's built-in code cache under any changed flag, which cost ~17 ms of
// each start. The bare bundles (the host test suites) take them on the command line through their shebang.
// cache: how each V8 code cache is made (scripts/build-plugin-dir.mjs).
const SERVER_V8_FLAGS = ['--optimize-for-size', '--semi-space-growth-factor=1'];
const AGENT_V8_FLAGS = ['--no-opt', '--no-sparkplug', ...SERVER_V8_FLAGS];
const bundleNodeFlags = (v8Flags) => ['--max-semi-space-size=1', ...v8Flags];
const targets = [
  {
    entry: 'plugin-agent/main.ts',
    out: 'dist/tpm-quote-agent',
    nodeFlags: bundleNodeFlags(AGENT_V8_FLAGS),
    v8Flags: AGENT_V8_FLAGS,
    cache: 'serve',
  },
  {
    entry: 'plugin-server/main.ts',
    out: 'dist/tpm-quote-server',
    nodeFlags: bundleNodeFlags(SERVER_V8_FLAGS),
    v8Flags: SERVER_V8_FLAGS,
    cache: 'serve',
  },
  { entry: 'cli/main.ts', out: 'dist/tpm-quote', nodeFlags: [], v8Flags: [], cache: 'compile' },
];

await mkdir(join(root, 'dist'), { recursive: true });
for (const { entry, out, nodeFlags } of targets) {
  const outfile = join(root, out);
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // The bare bundles (run by the host's node: the host test suites) take the same flags, through env -S,
    // and start without NODE_EXTRA_CA_CERTS as the launcher does (packaging/launcher/main.go, pluginEnv).
    banner: {
      js: nodeFlags.length
        ? `#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node ${nodeFlags.join(' ')}`
        : '#!/usr/bin/env node',
    },
    legalComments: 'none',
    sourcemap: false,
    // Smaller source is less for V8 to parse at each start; names are kept for stack traces in logs.
    minify: true,
    keepNames: true,
    plugins: [withoutProtoLoader, lazyBuiltins],
    logLevel: 'warning',
  });
  await chmod(outfile, 0o755);
  process.stderr.write(`built ${out}\n`);
}

const dir = await buildPluginDir({
  root,
  plugins: Object.fromEntries(
    targets.map(({ out, v8Flags, cache }) => [out.slice('dist/'.length), { bundle: join(root, out), v8Flags, cache }]),
  ),
});
process.stderr.write(`built ${dir.slice(root.length + 1)}/\n`);
