#!/usr/bin/env bash
# Every benchmark, one after another (`npm run bench`). Each prints its own figures beside its baseline.
# Needs what `npm test` installs (scripts/install-deps.sh) and a build (npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== plugin start -> handshake, peak RSS (vs empty node)"; node scripts/bench-plugin-start.mjs
echo "== quote latency (ours vs tpm2_quote)"; node scripts/bench-tpm-quote.mjs
echo "== server-side verification rate (vs raw RSA verify)"; node scripts/bench-tpm-verify.mjs
echo "== server-side crypto of one attestation (before/after vs raw node:crypto)"; node scripts/bench-server-crypto.mjs --baseline 668ed30
echo "== event log parse + replay + facts (largest real logs)"; node scripts/bench-eventlog.mjs
echo "== verifier latency and throughput (in-process vs Keylime)"; node scripts/bench-verifier.mjs
echo "== end-to-end attestation through real SPIRE"; bash scripts/bench-attestation.sh
