// Makes the V8 code cache of one bundle for dist/tpm_quote/ (scripts/build-plugin-dir.mjs runs it with the
// node and the node flags the launcher will use: V8 accepts a cache only from the same build and flags).
//
//   node [flags] make-code-cache.js BUNDLE OUT compile|serve
//
// Compiles BUNDLE as packaging/launcher/bootstrap.js does (shebang made a comment, Module.wrap, vm.Script). `compile` writes the
// cache of what V8 compiled eagerly. `serve` first runs the bundle as a plugin (the caller sets go-plugin's
// environment and a temporary PLUGIN_UNIX_SOCKET_DIR) and writes the cache on SIGUSR2, which the caller
// sends once the handshake line is out: the cache then also holds every function the start ran.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const vm = require('node:vm');

const [bundle, out, mode] = process.argv.slice(2);
const source = readFileSync(bundle, 'utf8');
const script = new vm.Script(Module.wrap(source.replace(/^#!/, '//')), { filename: bundle });
const save = () => writeFileSync(out, script.createCachedData());
if (mode === 'compile') {
  save();
} else if (mode === 'serve') {
  process.on('SIGUSR2', () => {
    save();
    process.exit(0);
  });
  const main = new Module(bundle, null);
  main.filename = bundle;
  main.paths = [];
  script.runInThisContext().call(main.exports, main.exports, Module.createRequire(bundle), main, bundle, '/');
} else {
  throw new Error(`make-code-cache: mode must be compile or serve, not ${mode}`);
}
