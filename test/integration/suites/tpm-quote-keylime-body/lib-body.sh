# Shared by this suite's steps (sourced; not a step).
#
# body-fault MODE SERVER_REGEX: the fake Keylime answers MODE from now on; the next reattestation must be
# refused (agent: "Could not reattest agent", Unavailable; server plugin: "attestation refused" whose error
# matches the JS regex SERVER_REGEX); then the fake answers valid again and the next reattestation succeeds,
# with the same spire-server, spire-agent and plugin processes.
body-fault() {
  local mode=$1 regex=$2 ok0 fail0 lines
  ok0=$(grep -c '"msg":"Successfully reattested node"' "$LOGDIR/spire-agent.log" || true)
  fail0=$(grep -c '"msg":"Could not reattest agent"' "$LOGDIR/spire-agent.log" || true)
  echo "$mode" >"$RUNDIR/keylime-mode"
  wait-json-count "$LOGDIR/spire-agent.log" 'e.msg === "Could not reattest agent"' $((fail0 + 1)) 60 spire-agent
  echo valid >"$RUNDIR/keylime-mode"
  [ "$(grep -c '"msg":"Successfully reattested node"' "$LOGDIR/spire-agent.log" || true)" -eq "$ok0" ] ||
    fail-now "$mode: a reattestation succeeded while Keylime answered $mode"
  spire-json-lines "$LOGDIR/spire-agent.log" 'e.msg === "Could not reattest agent"' | tail -n 1 |
    node -e 'const e = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log("  agent:  " + e.error)'
  lines=$(REGEX=$regex spire-json-lines "$LOGDIR/spire-server.log" \
    'e.msg === "attestation refused" && new RegExp(process.env.REGEX).test(String(e.error ?? ""))')
  [ -n "$lines" ] || fail-now "$mode: no server 'attestation refused' matching /$regex/"
  echo "$lines" | tail -n 1 | node -e 'const e = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log("  server: " + e.error)'
  wait-json-count "$LOGDIR/spire-agent.log" 'e.msg === "Successfully reattested node"' $((ok0 + 1)) 60 spire-agent
  [ "$(plugin-pid spire-agent tpm-quote-agent)" = "$AGENT_PLUGIN_PID" ] || fail-now "the agent plugin process changed"
  [ "$(plugin-pid spire-server tpm-quote-server)" = "$SERVER_PLUGIN_PID" ] || fail-now "the server plugin process changed"
  log-success "Keylime 200 with a $mode body: that attestation refused (fails closed), the next one succeeded, nothing restarted"
}
