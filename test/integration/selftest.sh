#!/usr/bin/env bash
# Self-test of the integration harness: runs the suites in selftest/ through run.sh and checks each one
# ends as it must (see selftest/README.md). Exit status non-zero on any mismatch.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
bad=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; bad=$((bad + 1)); fi
}

SUITES_DIR="$here/selftest" bash "$here/run.sh" passes >"$out" 2>&1
rc=$?
check "passes: run.sh exits 0" [ "$rc" -eq 0 ]
check "passes: reported PASS" grep -q '^################ PASS passes' "$out"

SUITES_DIR="$here/selftest" bash "$here/run.sh" step-fails >"$out" 2>&1
rc=$?
check "step-fails: run.sh exits non-zero" [ "$rc" -ne 0 ]
check "step-fails: step 01 ran" grep -q 'marker: step 01 ran' "$out"
check "step-fails: step 02 did not run" bash -c "! grep -q 'marker: step 02 ran' '$out'"
check "step-fails: teardown ran without SUCCESS" grep -q 'marker: teardown SUCCESS=unset' "$out"
check "step-fails: teardown printed the logs" grep -q 'a line only visible in the printed logs' "$out"
check "step-fails: reported FAIL" grep -q '^################ FAIL step-fails' "$out"
rundir=$(sed -n 's/^################ FAIL step-fails .* files kept in //p' "$out")
[ -n "$rundir" ] && rm -rf "$rundir"

SUITES_DIR="$here/selftest" bash "$here/run.sh" plugin-outlives >"$out" 2>&1
rc=$?
child=$(sed -n 's/^marker: child pid //p' "$out")
check "plugin-outlives: run.sh exits non-zero" [ "$rc" -ne 0 ]
check "plugin-outlives: the child pid was reported" [ -n "$child" ]
check "plugin-outlives: the leftover child was named" grep -q "still running after stop.*=$child" "$out"
gone() { # gone PID: no such process, or only a zombie left, within 2 s
  local state
  for _ in $(seq 1 20); do
    state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$state" = Z ] && return 0
    sleep 0.1
  done
  return 1
}
check "plugin-outlives: the leftover child is gone" gone "${child:-none}"
rundir=$(sed -n 's/^################ FAIL plugin-outlives .* files kept in //p' "$out")
[ -n "$rundir" ] && rm -rf "$rundir"

if [ "$bad" -ne 0 ]; then
  echo "---- last run.sh output"; cat "$out"
  echo "harness self-test: $bad check(s) failed"
  exit 1
fi
echo "harness self-test: all checks passed"
