#!/usr/bin/env bash
# THE test command (`npm test`, and what .ci/run runs). Installs what is missing, then runs, in order:
#   typecheck (tsc), lint (ESLint, then Prettier's format check), proto staleness check, build (dist/), the
#   self-contained plugin directory in an empty chroot and on a PATH without node, start-up benchmark smoke run,
#   a short fuzz run of the decoders (scripts/fuzz.mjs 20000),
#   jest (projects unit, swtpm, plugin),
#   the integration harness self-test, the 10-node benchmark (scripts/bench-nodes.sh), every integration
#   suite (test/integration/run.sh, real spire-server/agent), then the container suites under SPIRE's
#   upstream harness (scripts/test-harness.sh: Docker engine, compose, locally built images; each suite counted).
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
# tally NAME FILE RC T0: a suite runner's `PASS|FAIL suite seconds` lines into the totals and the summary; a
# runner that failed without a failed suite (it could not run) counts as one failure.
tally() {
  local name=$1 file=$2 rc=$3 t0=$4 np nf r s secs
  np=$(grep -c '^PASS' "$file" 2>/dev/null) || np=0
  nf=$(grep -c '^FAIL' "$file" 2>/dev/null) || nf=0
  passed=$((passed + np)); failed=$((failed + nf))
  note "$([ "$rc" -eq 0 ] && echo PASS || echo FAIL)  $name: $np suites passed, $nf failed ($((SECONDS - t0))s)"
  if [ -s "$file" ]; then while read -r r s secs; do note "        $r $s (${secs}s)"; done <"$file"; fi
  if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then failed=$((failed + 1)); fi
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
# Debian's Docker engine first and alone: install-deps.sh's apt-get cannot run beside another (apt's locks).
if ! bash scripts/install-docker.sh --engine-only; then
  failed=$((failed + 1)); note "FAIL  install (scripts/install-docker.sh --engine-only)"
  wait "$spire_pid"
  finish
fi
# The container suites' slow preparations, in the background like install-spire.sh: compose (built from
# source), the Debian base and swtpm images (debootstrap), SPIRE's source and its static build.
(
  set -e
  t0=$SECONDS; bash scripts/install-docker.sh --compose-only; echo "timing: compose $((SECONDS - t0)) s"
  t0=$SECONDS; bash scripts/build-images.sh --base-only; echo "timing: base and swtpm images $((SECONDS - t0)) s"
  t0=$SECONDS; bash scripts/install-spire-source.sh; echo "timing: install-spire-source $((SECONDS - t0)) s"
) >"$work/containers-prep.log" 2>&1 &
containers_pid=$!
if ! bash scripts/install-deps.sh --skip-spire; then
  failed=$((failed + 1)); note "FAIL  install (scripts/install-deps.sh)"
  wait "$spire_pid"
  wait "$containers_pid"
  finish
fi

# --- static checks and build
gate typecheck npx tsc -p tsconfig.json
# ESLint (rules and import boundaries: eslint.config.js) and Prettier's check (.prettierrc.json); both run
# even when the first finds something, so one run lists everything. `npm run format` rewrites the files.
lint() {
  local rc=0
  npm run --silent lint || rc=1
  npm run --silent format:check || rc=1
  return "$rc"
}
gate lint lint
if [ -f scripts/generate-proto.sh ]; then gate proto-check bash scripts/generate-proto.sh --check; fi
gate build npm run build --silent
# dist/tpm_quote/ alone in an empty root (chroot, as root and uid 1000) and on a host PATH without node:
# each executable prints the go-plugin handshake; nothing written outside /tmp.
gate plugin-dir-chroot bash scripts/check-plugin-dir.sh
# The start-up benchmark, 3 runs: keeps the script working and checks each executable's first stdout line
# (dist/tpm_quote/ and dist/ bundles) is a go-plugin handshake (the full benchmark: node
# scripts/bench-plugin-start.mjs).
gate bench-plugin-start node scripts/bench-plugin-start.mjs --runs 3
# Short fuzz run (the full one: node scripts/fuzz.mjs, 10^6 inputs): every wire/file decoder, fails on a crash
# (a throw that is not the decoder's documented error) or an input over the per-input bound.
gate fuzz timeout 600 node scripts/fuzz.mjs 20000

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
  wait "$containers_pid"
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
tally integration "$work/integration.txt" "$it_rc" "$t0"

# --- container suites under SPIRE's upstream harness: need the preparations started at the top.
echo "==================== waiting for the container preparations"
if ! wait "$containers_pid"; then
  cat "$work/containers-prep.log"
  failed=$((failed + 1)); note "FAIL  container preparations (harness suites not run)"
  finish
fi
grep '^timing:' "$work/containers-prep.log"
gate build-images bash scripts/build-images.sh
echo "==================== harness (SPIRE's upstream runner)"
t0=$SECONDS
RESULTS_FILE="$work/harness.txt" bash scripts/test-harness.sh --no-prepare
hs_rc=$?
tally harness "$work/harness.txt" "$hs_rc" "$t0"
finish
