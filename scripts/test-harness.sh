#!/usr/bin/env bash
# `npm run test:harness`: the container suites, run by SPIRE v1.13.3's own integration runner
# (test/integration/test-one.sh from its source, scripts/install-spire-source.sh) with the images of
# scripts/build-images.sh:
#   - ours, in upstream's suite format: every folder under test/upstream-suites/
#   - upstream's own join-token and node-attestation suites, unchanged, to show the images are faithful
#
#   scripts/test-harness.sh                 prepare (installs, dist/, images; each skipped when up to date), run all
#   scripts/test-harness.sh --no-prepare    run only (scripts/test.sh prepares beforehand)
#   scripts/test-harness.sh [--no-prepare] NAME...   only those suites (ours by folder name, or join-token,
#                                           node-attestation)
# Environment: RESULTS_FILE (appends `PASS|FAIL harness/NAME seconds` per suite), SUITE_TIMEOUT (s, default 900).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
spire="$root/.harness/spire"
upstream_suites=(join-token node-attestation)
prepare=1
names=()
for arg in "$@"; do
  case $arg in
    --no-prepare) prepare= ;;
    -*) echo "test-harness: unknown option $arg" >&2; exit 2 ;;
    *) names+=("${arg%/}") ;;
  esac
done

if [ -n "$prepare" ]; then
  bash scripts/install-docker.sh || exit 1
  bash scripts/install-spire-source.sh || exit 1
  if [ ! -x dist/tpm_quote/tpm-quote-agent ]; then npm run build --silent || exit 1; fi
  bash scripts/build-images.sh || exit 1
fi
[ -x "$spire/test/integration/test-one.sh" ] || { echo "test-harness: no SPIRE source in $spire: run scripts/install-spire-source.sh" >&2; exit 2; }

# suite-path NAME: our suite folder, else upstream's.
suite-path() {
  if [ -d "$root/test/upstream-suites/$1" ]; then echo "$root/test/upstream-suites/$1"
  elif [ -d "$spire/test/integration/suites/$1" ]; then echo "$spire/test/integration/suites/$1"
  else return 1; fi
}
if [ ${#names[@]} -eq 0 ]; then
  for d in "$root"/test/upstream-suites/*/; do names+=("$(basename "$d")"); done
  names+=("${upstream_suites[@]}")
fi
paths=()
for n in "${names[@]}"; do
  p=$(suite-path "$n") || { echo "test-harness: no suite named $n" >&2; exit 2; }
  paths+=("$p")
done

# Upstream's Makefile (which test-one.sh calls for its PATH) wants exactly this Go; the go command fetches it.
export GOTOOLCHAIN=go1.25.3
export TPMQ_REPO="$root"
passed=0
failed=0
cd "$spire/test/integration" || exit 2
for p in "${paths[@]}"; do
  name=$(basename "$p")
  echo "################ harness suite $name ($p)"
  t0=$SECONDS
  timeout --kill-after=30 "${SUITE_TIMEOUT:-900}" ./test-one.sh "$p"
  rc=$?
  secs=$((SECONDS - t0))
  # A runner killed by the timeout cannot tear down: remove whatever compose projects it left.
  for project in $(docker ps -a --filter label=com.docker.compose.project --format '{{.Label "com.docker.compose.project"}}' | grep '^spire-integration-' | sort -u); do
    echo "test-harness: removing leftover compose project $project" >&2
    docker compose -p "$project" down -v --remove-orphans >/dev/null 2>&1
  done
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "################ PASS harness/$name (${secs}s)"
    [ -z "${RESULTS_FILE:-}" ] || echo "PASS harness/$name $secs" >>"$RESULTS_FILE"
  else
    failed=$((failed + 1)); echo "################ FAIL harness/$name (${secs}s, exit $rc)"
    [ -z "${RESULTS_FILE:-}" ] || echo "FAIL harness/$name $secs" >>"$RESULTS_FILE"
  fi
done
echo "harness suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
