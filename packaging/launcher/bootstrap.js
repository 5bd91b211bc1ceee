// Run by node as its -e program (the launcher passes it; it is part of the launcher's own file, so the
// plugin_checksum pins it). Reads the plugin's bundled code, and the V8 code cache made for it at build
// time (scripts/lib/make-code-cache.js), from the launcher's file at the offsets the launcher found in its
// manifest, refuses unless each one's SHA-256 is the pinned one, and runs the code as the CommonJS main
// module with the executable's path as its filename. Needs no /proc and no /dev.
//
// Before that it loads the node modules the plugin loads at start (listed at build time) and only then sets
// the plugin's V8 flags: V8 refuses node's own code cache of a module under changed flags, and compiling
// them from source would cost more of each start than the flags save.
//
// The code cache only spares V8 the parse and compile of the bundle at start; V8 itself checks it was
// made by this node with these flags for a source of this length, and when it refuses it the code is
// compiled from source as without one. make-code-cache.js compiles the same text (the bundle's shebang
// line turned into a comment, same length, inside Module.wrap), so the two agree.
'use strict';
(() => {
  const [exe, offset, length, digest, cacheOffset, cacheLength, cacheDigest, v8Flags, preload] = process.argv.splice(
    1,
    9,
  );
  const fs = require('node:fs');
  const crypto = require('node:crypto');
  const name = require('node:path').basename(exe);
  /** An hclog JSON line on stderr, as the launcher writes them. */
  const log = (level, message, fields) => {
    const timestamp = `${new Date().toISOString().slice(0, 23)}000Z`;
    const line = { '@level': level, '@message': message, '@timestamp': timestamp, ...fields };
    process.stderr.write(`${JSON.stringify(line)}\n`);
  };
  /** The pinned bytes [at, at + len) of the executable, or exit 1 naming what differs. */
  const readPinned = (what, fd, at, len, pinned) => {
    const bytes = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = fs.readSync(fd, bytes, got, len - got, at + got);
      if (n === 0) break;
      got += n;
    }
    const actual = crypto.createHash('sha256').update(bytes.subarray(0, got)).digest('hex');
    if (got !== len || actual !== pinned) {
      log(
        'error',
        `${name}: refusing to start: the ${what} in ${exe} does not match the SHA-256 pinned ` +
          `in it (${got} of ${len} bytes read, sha256 ${actual}, pinned ${pinned})`,
      );
      process.exit(1);
    }
    return bytes;
  };
  const fd = fs.openSync(exe, 'r');
  let code;
  let cache;
  try {
    code = readPinned('plugin code', fd, Number(offset), Number(length), digest);
    if (Number(cacheLength) > 0)
      cache = readPinned('code cache', fd, Number(cacheOffset), Number(cacheLength), cacheDigest);
  } finally {
    fs.closeSync(fd);
  }
  for (const m of preload.split(',').filter(Boolean)) require(`node:${m}`);
  for (const f of v8Flags.split(' ').filter(Boolean)) require('node:v8').setFlagsFromString(f);
  // The plugin sees a normal argv ([its executable, its plugin_args...]). The title replaces node's
  // part of the command line (this bootstrap) and the process name, so top and pgrep show the plugin.
  process.argv.splice(0, 1, exe, exe);
  process.title = name;
  const Module = require('node:module');
  const main = new Module(exe, null);
  main.filename = exe;
  main.paths = [];
  process.mainModule = main;
  const script = new (require('node:vm').Script)(Module.wrap(code.toString('utf8').replace(/^#!/, '//')), {
    filename: exe,
    cachedData: cache,
  });
  // Under go-plugin at debug level, say whether V8 took the cache (a refused one costs the compile).
  const level = process.env.TPM_QUOTE_LOG_LEVEL;
  if (cache && process.env.PLUGIN_PROTOCOL_VERSIONS && !['info', 'warn', 'error'].includes(level)) {
    log('debug', 'launcher: plugin code loaded', {
      '@module': 'launcher',
      code_cache: script.cachedDataRejected ? 'rejected' : 'accepted',
    });
  }
  const require_ = Module.createRequire(exe);
  script.runInThisContext().call(main.exports, main.exports, require_, main, exe, require('node:path').dirname(exe));
})();
