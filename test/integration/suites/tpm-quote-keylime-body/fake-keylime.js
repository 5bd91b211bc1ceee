// A FAKE Keylime verifier (HTTPS on 127.0.0.1, the test certificates of test/unit/verifier-client/fixtures),
// for the one fault the real Keylime cannot be made to show: HTTP 200 with a malformed or an endless body.
// Usage: node fake-keylime.js PORT_FILE MODE_FILE FIXTURE_DIR. MODE_FILE, read per request, holds
// "valid" (a passing verdict), "malformed" (truncated JSON) or "endless" (a chunked body that never ends).
const { createServer } = require('node:https');
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const [portFile, modeFile, fix] = process.argv.slice(2);
const VERSION = { code: 200, status: 'Success', results: { current_version: '2.6', supported_versions: ['2.6'] } };
const VALID = { code: 200, status: 'Success', results: { valid: true, claims: {}, failures: [] } };
const chunk = Buffer.alloc(64 * 1024, 0x20);
const server = createServer(
  { cert: readFileSync(join(fix, 'server.crt')), key: readFileSync(join(fix, 'server.key')) },
  (req, res) => {
    req.resume();
    req.on('end', () => {
      const mode = req.url.endsWith('/version') ? 'version' : readFileSync(modeFile, 'utf8').trim();
      console.log(`${req.method} ${req.url} -> ${mode}`);
      if (mode === 'version' || mode === 'valid') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(mode === 'version' ? VERSION : VALID));
      } else if (mode === 'malformed') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"code": 200, "status": "Success", "results": {"valid": tr');
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"code": 200, "results": {"claims": "');
        let sent = 0;
        const timer = setInterval(() => {
          sent += chunk.length;
          res.write(chunk);
        }, 5);
        res.on('close', () => {
          clearInterval(timer);
          console.log(`endless body: client closed after ${sent} bytes`);
        });
      }
    });
  },
);
server.listen(0, '127.0.0.1', () => writeFileSync(portFile, String(server.address().port)));
process.on('SIGTERM', () => process.exit(0));
