#!/usr/bin/env node
// An independent caller of spire-server's AttestAgent (test/helpers/spire-agent-api.ts) for the suites:
// sends the tpm_quote payload of the captured swtpm fixtures (test/fixtures/tpm: the EK certificate chains
// to ca-root.pem/ca-issuer.pem) and then behaves as SCENARIO says. Prints one JSON line per event the
// caller saw (challenge, result, the final status with its code and message) and exits 0 once a status
// arrived.
//   node attest-client.mjs SCENARIO HOST:PORT BUNDLE_PEM
// SCENARIO: silent:DEADLINE_MS (never answers; the caller's own deadline), late:WAIT_MS (answers 64 bytes
// after WAIT_MS), half-close:0 (half-closes right after the payload), payload-over:BYTES (a payload of
// BYTES), answer-over:BYTES (answers BYTES at once).
import { readFileSync } from 'node:fs';
import { loadTs } from '../../scripts/lib/load-ts.mjs';

const [scenario, address, bundle] = process.argv.slice(2);
const [kind, arg] = (scenario ?? '').split(':');
const n = Number(arg);
if (
  !address ||
  !bundle ||
  !Number.isInteger(n) ||
  !['silent', 'late', 'half-close', 'payload-over', 'answer-over'].includes(kind)
) {
  console.error(
    'usage: attest-client.mjs silent:MS|late:MS|half-close:0|payload-over:BYTES|answer-over:BYTES HOST:PORT BUNDLE_PEM',
  );
  process.exit(2);
}
const { openAttestAgent, encodeParams, encodeChallengeResponse, encodePayload } = await loadTs(`
export { openAttestAgent, encodeParams, encodeChallengeResponse } from './test/helpers/spire-agent-api';
export { encodePayload } from './proto/tpmquote/protocol';
`);
const fixture = (f) => new Uint8Array(readFileSync(new URL(`../fixtures/tpm/${f}`, import.meta.url)));
const payload =
  kind === 'payload-over'
    ? new Uint8Array(n).fill(0x41)
    : encodePayload({
        ekCertificate: fixture('ek-rsa-cert.der'),
        ekPublic: fixture('ek-rsa.pub').subarray(2),
        akPublic: fixture('ak-rsa.pub').subarray(2),
      });
const stream = openAttestAgent(address, readFileSync(bundle), kind === 'silent' ? n : undefined);
stream.send(encodeParams('tpm_quote', payload, new Uint8Array([0x30, 0])));
if (kind === 'half-close') stream.end();
for (;;) {
  const e = await stream.next();
  console.log(JSON.stringify(e));
  if (e.event === 'status') process.exit(0);
  if (e.event !== 'challenge') continue;
  if (kind === 'late') setTimeout(() => stream.send(encodeChallengeResponse(new Uint8Array(64).fill(7))), n);
  if (kind === 'answer-over') stream.send(encodeChallengeResponse(new Uint8Array(n).fill(7)));
}
