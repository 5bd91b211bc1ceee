# Shared by this suite's steps (sourced; not a step).
#
# expect-refused N REGEX: at least N failed attestation attempts in the agent log ("Failed to retrieve
# attestation result"), the Nth's error matching the JS regex REGEX; no attestation succeeded; no transient
# object left in the swtpm; the same spire-agent process (it retries on its own).
expect-refused() {
  local n=$1 regex=$2 line
  wait-json-count "$LOGDIR/spire-agent.log" 'e.msg === "Failed to retrieve attestation result"' "$n" 90 spire-agent
  line=$(spire-json-lines "$LOGDIR/spire-agent.log" 'e.msg === "Failed to retrieve attestation result"' | sed -n "${n}p")
  echo "$line" | node -e 'const e = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log("  agent: " + e.error)'
  REGEX=$regex node -e 'const e = JSON.parse(require("fs").readFileSync(0, "utf8")); process.exit(new RegExp(process.env.REGEX).test(e.error) ? 0 : 1)' <<<"$line" ||
    fail-now "attempt $n: the error does not match /$regex/"
  ! grep -q '"msg":"Node attestation was successful"' "$LOGDIR/spire-agent.log" || fail-now "the agent attested"
  [ -z "$(exit-status spire-agent)" ] || fail-now "spire-agent exited"
  local t
  t=$(transient-handles)
  [ "$t" -eq 0 ] || fail-now "$t transient object(s) left in the swtpm after the refused attempt"
}
