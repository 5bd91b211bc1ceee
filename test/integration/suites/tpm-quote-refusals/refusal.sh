# expect-refused NAME CHECK_REGEX SERVER_REASON SERVER_REGEX [CODE]: spire-agent NAME (already started) must
# exit having logged "Agent crashed" with a CODE (gRPC code name, default PermissionDenied) from tpm_quote whose
# text matches CHECK_REGEX and names none of the server's files (nothing under $RUNDIR); no SVID, no agent
# listed, no Workload API; the server plugin logged "attestation refused" with reason SERVER_REASON, that code,
# the EK hash (claimed_ek_hash before credential activation, ek_hash after) and the full detail matching
# SERVER_REGEX.
expect-refused() {
  local name=$1 regex=$2 reason=$3 server_regex=$4 code=${5:-PermissionDenied} log="$LOGDIR/$1.log" rc hash_key=ek_hash
  local server_code
  server_code=$(sed -E 's/([a-z])([A-Z])/\1_\2/g' <<<"$code" | tr '[:lower:]' '[:upper:]')
  rc=$(wait-for-exit "$name" 90)
  [ "$rc" != 0 ] || fail-now "$name exited 0"
  ! grep -q '"msg":"Node attestation was successful"' "$log" || fail-now "$name attested"
  spire-json-lines "$log" 'e.msg === "Agent crashed"' | sed 's/^/    /'
  REGEX=$regex CODE=$code expect-json-line "$log" \
    'e.level === "error" && e.msg === "Agent crashed" && String(e.error).includes("code = " + process.env.CODE + " desc = nodeattestor(tpm_quote)") && new RegExp(process.env.REGEX).test(String(e.error))' \
    "$name: attestation refused, reason in the agent log: $code /$regex/"
  # SPIRE relays the plugin's text to the (unauthenticated) agent: it must not name the server's files.
  ! grep '"msg":"Agent crashed"' "$log" | grep -qF "$RUNDIR" || fail-now "$name: the agent's error names a server file under $RUNDIR"
  log-success "$name: the agent's error names no server file"
  case $reason in ek_trust | ak_attributes | credential_activation) hash_key=claimed_ek_hash ;; esac
  spire-json-lines "$LOGDIR/spire-server.log" 'e.msg === "attestation refused"' | tail -n 1 | sed 's/^/    /'
  REASON=$reason KEY=$hash_key SREGEX=$server_regex SCODE=$server_code expect-json-line "$LOGDIR/spire-server.log" \
    'e.msg === "attestation refused" && e.reason === process.env.REASON && e.code === process.env.SCODE && /^[0-9a-f]{64}$/.test(String(e[process.env.KEY])) && new RegExp(process.env.SREGEX).test(String(e.error))' \
    "server plugin: 'attestation refused' with reason $reason, $hash_key and the detail /$server_regex/"
  # The refusal is counted on SPIRE's Prometheus endpoint too.
  local metric
  metric=$(curl -fsS "http://127.0.0.1:$SERVER_PROM_PORT/metrics" | grep -E "^spire_server_tpm_quote_attestation\{.*reason=\"$reason\".*result=\"failure\"" || true)
  [ -n "$metric" ] || fail-now "no spire_server_tpm_quote_attestation{reason=\"$reason\",result=\"failure\"} on the server's Prometheus endpoint"
  log-success "server metrics: $metric"
  no-agent-svid
  ! "$BINDIR/spire-agent" api fetch x509 -socketPath "$AGENT_SOCKET" >/dev/null 2>&1 || fail-now "a Workload API served an SVID"
  [[ $(agent-list -output json) != *tpm_quote* ]] || fail-now "an agent attested with tpm_quote is listed"
  log-success "$name: no agent SVID, no Workload API, no agent listed"
}

# server-with BODY_FILE: (re)start spire-server with the tpm_quote plugin_data replaced by BODY_FILE.
server-with() {
  render-server-conf
  replace-plugin-data "$RUNDIR/server.conf" 'NodeAttestor "tpm_quote"' "$1"
  [ -n "${SERVER_PROM_PORT:-}" ] || save-var SERVER_PROM_PORT "$(free-port)"
  add-prometheus "$RUNDIR/server.conf" "$SERVER_PROM_PORT"
  [ -z "$(pid-of spire-server)" ] || stop-spire-server
  [ ! -f "$LOGDIR/spire-server.log" ] || cat "$LOGDIR/spire-server.log" >>"$LOGDIR/spire-server-all.log"
  rm -f "$LOGDIR/spire-server.log"
  start-spire-server
  wait-server-healthy 60
  write-trust-bundle
}

# fresh-server-with BODY_FILE: server-with on an emptied data dir, so no agent attested earlier is listed.
fresh-server-with() {
  [ -z "$(pid-of spire-server)" ] || stop-spire-server
  rm -rf "$SERVER_DATA_DIR" && mkdir -p "$SERVER_DATA_DIR"
  server-with "$1"
}

# fresh-agent NAME: start spire-agent as NAME with an empty data dir (a first attestation).
fresh-agent() {
  rm -rf "$AGENT_DATA_DIR" && mkdir -p "$AGENT_DATA_DIR"
  start-spire-agent "$RUNDIR/agent.conf" "$1"
}
