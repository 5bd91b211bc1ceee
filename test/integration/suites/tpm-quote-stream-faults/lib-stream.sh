# Shared by this suite's steps (sourced; not a step).
#
# caller SCENARIO: runs test/integration/attest-client.mjs against this suite's spire-server; its JSON
# events go to $RUNDIR/caller-SCENARIO.jsonl and are printed; the final status line is in $STATUS.
caller() {
  local out="$RUNDIR/caller-${1//[:]/-}.jsonl"
  timeout 60 node "$REPODIR/test/integration/attest-client.mjs" "$1" "127.0.0.1:$SERVER_PORT" "$TRUST_BUNDLE" >"$out" ||
    fail-now "attest-client.mjs $1 failed: $(cat "$out")"
  sed 's/^/  caller: /' "$out"
  STATUS=$(grep '"event":"status"' "$out" | tail -n 1)
  [ -n "$STATUS" ] || fail-now "caller $1: no status"
}

# status-is CODE REGEX: the caller's final status has gRPC code CODE and a message matching the JS regex.
status-is() {
  CODE=$1 REGEX=$2 node -e '
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
    process.exit(s.code === process.env.CODE && new RegExp(process.env.REGEX).test(s.details) ? 0 : 1)' <<<"$STATUS" ||
    fail-now "the caller saw $STATUS, not $1 /$2/"
}

# server-metric REGEX: the value of the first Prometheus sample of spire-server matching REGEX (0 if none).
server-metric() {
  curl -fsS "http://127.0.0.1:$SERVER_PROM_PORT/metrics" | grep -E "$1" | awk '{ s += $NF } END { print s + 0 }'
}
