// Makes the V8 code cache of one bundle for dist/tpm_quote/ (scripts/build-plugin-dir.mjs runs it with the
// node copied to lib/: V8 accepts a cache only from the same build, under the same flags).
//
//   node make-code-cache.js BUNDLE OUT compile|serve [V8 flag...]
//
// Sets the V8 flags and compiles BUNDLE as packaging/launcher/bootstrap.js does (shebang made a comment,
// Module.wrap, vm.Script). `compile` writes the cache of what V8 compiled eagerly. `serve` first runs the
// bundle as a plugin (the caller sets go-plugin's environment and a temporary PLUGIN_UNIX_SOCKET_DIR). On
// the first SIGUSR2, which the caller sends once the handshake line is out, it writes to OUT.builtins the
// JSON list of the public node modules loaded by then (the bootstrap loads those before it sets the
// flags); on the second, sent after the caller's first calls, the cache (now also holding every function
// the start and those calls ran).
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const v8 = require('node:v8');
const vm = require('node:vm');

const [bundle, out, mode, ...flags] = process.argv.slice(2);
for (const f of flags) v8.setFlagsFromString(f);
const source = readFileSync(bundle, 'utf8');
const script = new vm.Script(Module.wrap(source.replace(/^#!/, '//')), { filename: bundle });
const save = () => writeFileSync(out, script.createCachedData());
if (mode === 'compile') {
  save();
} else if (mode === 'serve') {
  // First SIGUSR2 (at the handshake): the node modules a start loads; second (after the caller's first
  // calls): the cache, which then also holds the code those calls loaded and ran.
  let signals = 0;
  process.on('SIGUSR2', () => {
    if (signals++ === 0) {
      const loaded = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
      writeFileSync(`${out}.builtins`, JSON.stringify(loaded.filter((m) => Module.builtinModules.includes(m))));
      return;
    }
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
