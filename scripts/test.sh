#!/usr/bin/env bash
# THE test command (`npm test`, and what .ci/run runs). Installs what is missing, then runs, in order:
#   typecheck (tsc), proto staleness check, build (dist/), start-up benchmark smoke run,
#   jest (projects unit, swtpm, plugin),
#   the integration harness self-test, the 10-node benchmark (scripts/bench-nodes.sh), every integration
#   suite (test/integration/run.sh, real spire-server/agent).
# Every part runs even when an earlier one failed (except that nothing runs when installing failed), and
# the last line is `N passed, N failed`: jest tests + integration suites + the gate steps above.
# Exit status is non-zero when anything failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CI="${CI:-}"
work=$(mktemp -d "${TMPDIR:-/tmp}/tpmq-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
report=()
note() { report+=("$1"); }
gate() { # gate NAME CMD...: one pass/fail item
  local name=$1 t0=$SECONDS
  shift
  echo "==================== $name"
  if "$@"; then
    passed=$((passed + 1)); note "PASS  $name ($((SECONDS - t0))s)"
  else
    failed=$((failed + 1)); note "FAIL  $name ($((SECONDS - t0))s)"
  fi
}
finish() {
  echo
  echo "==================== summary"
  printf '%s\n' "${report[@]}"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit $?
}

# --- install. SPIRE builds from source (minutes on a fresh machine): run it beside the rest.
echo "==================== install"
bash scripts/install-spire.sh >"$work/install-spire.log" 2>&1 &
spire_pid=$!
if ! bash scripts/install-deps.sh --skip-spire; then
  failed=$((failed + 1)); note "FAIL  install (scripts/install-deps.sh)"
  wait "$spire_pid"
  finish
fi

# --- static checks and build
gate typecheck npx tsc -p tsconfig.json
if [ -f scripts/generate-proto.sh ]; then gate proto-check bash scripts/generate-proto.sh --check; fi
gate build npm run build --silent
# The start-up benchmark, 3 runs: keeps the script working and checks each executable's first stdout line
# is a go-plugin handshake (the full benchmark: node scripts/bench-plugin-start.mjs).
gate bench-plugin-start node scripts/bench-plugin-start.mjs --runs 3

# --- jest: every project. Totals from its JSON report; a test file that fails to load counts as a failure.
echo "==================== jest"
t0=$SECONDS
# Bounded so that a test that never ends cannot eat CI's 90 minutes (jest itself takes ~2 min here).
timeout --kill-after=30 "${JEST_TIMEOUT:-1800}" npx jest --ci --json --outputFile="$work/jest.json"
jest_rc=$?
[ "$jest_rc" -ne 124 ] || echo "jest: killed after ${JEST_TIMEOUT:-1800} s"
if [ -s "$work/jest.json" ]; then
  read -r jp jf je < <(node -e '
    const r = require(process.argv[1]);
    console.log(r.numPassedTests, r.numFailedTests, r.numRuntimeErrorTestSuites)' "$work/jest.json")
  passed=$((passed + jp)); failed=$((failed + jf + je))
  note "$([ "$jest_rc" -eq 0 ] && echo PASS || echo FAIL)  jest: $jp tests passed, $jf failed, $je test files failed to run ($((SECONDS - t0))s)"
  if [ "$jest_rc" -ne 0 ] && [ "$jf" -eq 0 ] && [ "$je" -eq 0 ]; then failed=$((failed + 1)); fi
else
  failed=$((failed + 1)); note "FAIL  jest produced no report (exit $jest_rc)"
fi

# --- integration suites: need SPIRE.
echo "==================== waiting for scripts/install-spire.sh"
if ! wait "$spire_pid"; then
  cat "$work/install-spire.log"
  failed=$((failed + 1)); note "FAIL  install-spire (integration suites not run)"
  finish
fi
tail -n 1 "$work/install-spire.log"
gate integration-harness-selftest bash test/integration/selftest.sh
# The many-nodes benchmark, short: 10 nodes against one server and the HA pair (PostgreSQL); prints its
# table and fails when a node did not attest or any failure was counted (the full run: --nodes 100).
gate bench-nodes-10 bash scripts/bench-nodes.sh --nodes 10 --window 30
echo "==================== integration"
t0=$SECONDS
RESULTS_FILE="$work/integration.txt" bash test/integration/run.sh
it_rc=$?
ip=$(grep -c '^PASS' "$work/integration.txt" 2>/dev/null) || ip=0
if_=$(grep -c '^FAIL' "$work/integration.txt" 2>/dev/null) || if_=0
passed=$((passed + ip)); failed=$((failed + if_))
note "$([ "$it_rc" -eq 0 ] && echo PASS || echo FAIL)  integration: $ip suites passed, $if_ failed ($((SECONDS - t0))s)"
if [ -s "$work/integration.txt" ]; then while read -r r s secs; do note "        $r $s (${secs}s)"; done <"$work/integration.txt"; fi
if [ "$it_rc" -ne 0 ] && [ "$if_" -eq 0 ]; then failed=$((failed + 1)); fi
finish
