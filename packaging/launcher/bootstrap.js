// Run by node as its -e program (the launcher passes it; it is part of the launcher's own file, so the
// plugin_checksum pins it). Reads the plugin's bundled code from the launcher's file at the offset and
// length the launcher found in its trailer, refuses unless its SHA-256 is the pinned one, and runs it as
// the CommonJS main module with the executable's path as its filename. Needs no /proc and no /dev.
"use strict";
(() => {
  const [exe, offset, length, digest] = process.argv.splice(1, 4);
  const fs = require("node:fs");
  const name = require("node:path").basename(exe);
  const code = Buffer.allocUnsafe(Number(length));
  const fd = fs.openSync(exe, "r");
  let got = 0;
  try {
    while (got < code.length) {
      const n = fs.readSync(fd, code, got, code.length - got, Number(offset) + got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const actual = require("node:crypto").createHash("sha256").update(code.subarray(0, got)).digest("hex");
  if (got !== code.length || actual !== digest) {
    // One hclog JSON line at error level, as the launcher writes its refusals.
    const message = `${name}: refusing to start: the plugin code in ${exe} does not match the SHA-256 pinned ` +
      `in it (${got} of ${code.length} bytes read, sha256 ${actual}, pinned ${digest})`;
    const timestamp = `${new Date().toISOString().slice(0, 23)}000Z`;
    process.stderr.write(`${JSON.stringify({ "@level": "error", "@message": message, "@timestamp": timestamp })}\n`);
    process.exit(1);
  }
  // The plugin sees a normal argv ([its executable, its plugin_args...]). The title replaces node's
  // part of the command line (this bootstrap) and the process name, so top and pgrep show the plugin.
  process.argv.splice(0, 1, exe, exe);
  process.title = name;
  const Module = require("node:module");
  const main = new Module(exe, null);
  main.filename = exe;
  main.paths = [];
  process.mainModule = main;
  main._compile(code.toString("utf8"), exe);
})();
