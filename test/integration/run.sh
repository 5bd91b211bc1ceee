#!/usr/bin/env bash
# Runs integration suites against the real spire-server/spire-agent in .tools/bin and the plugins in dist/.
#
#   test/integration/run.sh              every suite under test/integration/suites, in name order
#   test/integration/run.sh NAME...      just those suites
#
# For each suite: a fresh temp dir gets a copy of the suite folder; every step script matching `??-*` runs
# in name order (bash, `set -e -o pipefail`, common.sh sourced, cwd = the temp dir) until one fails; then
# `teardown` always runs (SUCCESS set when every step passed). Afterwards the harness stops, by pid, every
# process the suite started and fails the suite if one survived. The temp dir is removed when the suite
# passed and kept (path printed) when it failed.
#
# Environment: STEP_TIMEOUT (s, default 300), KEEP_RUNDIR=1 (keep temp dirs), RESULTS_FILE (append one
# `PASS|FAIL suite seconds` line per suite, for scripts/test.sh), SUITES_DIR (default suites/; the
# harness self-test points it at selftest/).
set -uo pipefail
ROOTDIR=$(cd "$(dirname "$0")" && pwd)
REPODIR=$(cd "$ROOTDIR/../.." && pwd)
export ROOTDIR REPODIR
STEP_TIMEOUT=${STEP_TIMEOUT:-300}
SUITES_DIR=${SUITES_DIR:-$ROOTDIR/suites}

suites=()
if [ $# -gt 0 ]; then
  for s in "$@"; do
    s=${s%/}
    s=${s##*/}
    [ -d "$SUITES_DIR/$s" ] || { echo "run.sh: no suite named $s under $SUITES_DIR" >&2; exit 2; }
    suites+=("$s")
  done
else
  for d in "$SUITES_DIR"/*/; do suites+=("$(basename "$d")"); done
fi

for tool in spire-server spire-agent; do
  [ -x "$REPODIR/.tools/bin/$tool" ] || { echo "run.sh: $REPODIR/.tools/bin/$tool missing: run scripts/install-spire.sh" >&2; exit 2; }
done

# run-script SUITE RUNDIR SCRIPT [SUCCESS]: one step (or the teardown) in its own bash process.
run-script() {
  local suite=$1 rundir=$2 script=$3 success=${4:-}
  (
    cd "$rundir" || exit 1
    export SUITE="$suite" RUNDIR="$rundir"
    if [ -n "$success" ]; then export SUCCESS=1; else unset SUCCESS; fi
    timeout --kill-after=10 "$STEP_TIMEOUT" bash -c '
      set -e -o pipefail
      source "$ROOTDIR/common.sh"
      source "$1"
    ' "$(basename "$script")" "$script"
  )
}

passed=0
failed=0
failed_names=()
for suite in "${suites[@]}"; do
  src="$SUITES_DIR/$suite"
  start=$(date +%s)
  rundir=$(mktemp -d "${TMPDIR:-/tmp}/tpmq-it-$suite.XXXXXX")
  cp -R "$src"/. "$rundir"/
  echo "################ suite $suite ($rundir)"
  ok=1
  if [ ! -f "$src/teardown" ]; then
    echo "suite $suite has no teardown script" >&2
    ok=
  else
    for step in "$rundir"/[0-9][0-9]-*; do
      [ -f "$step" ] || continue
      echo "======== $suite/$(basename "$step")"
      if ! run-script "$suite" "$rundir" "$step"; then
        echo "======== $suite/$(basename "$step") FAILED"
        ok=
        break
      fi
    done
    echo "======== $suite/teardown"
    run-script "$suite" "$rundir" "$rundir/teardown" "$ok" || { echo "======== $suite/teardown FAILED"; ok=; }
  fi
  # Whatever the teardown did, nothing the suite started may outlive it.
  if ! (cd "$rundir" && SUITE=$suite RUNDIR=$rundir bash -c 'source "$ROOTDIR/common.sh"; kill-all-started'); then
    echo "######## $suite: processes outlived the suite" >&2
    ok=
  fi
  secs=$(($(date +%s) - start))
  if [ -n "$ok" ]; then
    passed=$((passed + 1))
    echo "################ PASS $suite (${secs}s)"
    [ -n "${KEEP_RUNDIR:-}" ] || rm -rf "$rundir"
    [ -z "${RESULTS_FILE:-}" ] || echo "PASS $suite $secs" >>"$RESULTS_FILE"
  else
    failed=$((failed + 1))
    failed_names+=("$suite")
    echo "################ FAIL $suite (${secs}s) - files kept in $rundir"
    [ -z "${RESULTS_FILE:-}" ] || echo "FAIL $suite $secs" >>"$RESULTS_FILE"
  fi
done

echo "integration suites: $passed passed, $failed failed${failed_names[*]:+ (${failed_names[*]})}"
[ "$failed" -eq 0 ]
