# expect-attestation-refused NAME CONF WHAT SERVER_REGEX: start spire-agent NAME with CONF; it must fail to
# attest and exit non-zero within 90 s, its log must show the server's Unavailable error "PCR policy verifier
# unavailable" without the verifier's URL, the server's log must give the detail (an "attestation refused"
# error matching SERVER_REGEX, a JS regex), and the server must not list any agent as attested by this
# attempt. Prints the seconds it took.
expect-attestation-refused() {
  local name=$1 conf=$2 what=$3 regex="PCR policy verifier unavailable" server_regex=$4 t0 rc lines
  t0=$(date +%s%N)
  start-spire-agent "$conf" "$name"
  rc=$(wait-for-exit "$name" 90)
  [ "$rc" != 0 ] || fail-now "$what: spire-agent exited 0"
  lines=$(REGEX=$regex spire-json-lines "$LOGDIR/$name.log" \
    'e.level === "error" && /code = Unavailable/.test(String(e.error ?? "")) && new RegExp(process.env.REGEX).test(String(e.error ?? ""))')
  [ -n "$lines" ] || { tail -5 "$LOGDIR/$name.log"; fail-now "$what: no agent error with code Unavailable matching /$regex/"; }
  echo "$lines" | sed -n 1p | node -e 'const e=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log("  agent error: " + e.error)'
  ! grep -q '"msg":"Node attestation was successful"' "$LOGDIR/$name.log" || fail-now "$what: the agent attested"
  ! grep -qF "$KEYLIME_URL" "$LOGDIR/$name.log" || fail-now "$what: the agent was told the Keylime URL"
  lines=$(REGEX=$server_regex spire-json-lines "$LOGDIR/spire-server.log" \
    'e.msg === "attestation refused" && e.reason === "verifier_unavailable" && new RegExp(process.env.REGEX).test(String(e.error ?? ""))')
  [ -n "$lines" ] || fail-now "$what: no server 'attestation refused' whose error matches /$server_regex/"
  echo "$lines" | tail -n 1 | node -e 'const e=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log("  server log error: " + e.error)'
  echo $((($(date +%s%N) - t0) / 1000000)) >"$STATEDIR/last-refusal-ms"
}

# expect-no-svid CONF_N: the refused agent holds no SVID (nothing cached in its data dir).
expect-no-svid() {
  local dir="$RUNDIR/agent-data-$1"
  if ls "$dir" | grep -qiE 'svid'; then ls -la "$dir"; fail-now "agent-data-$1 holds an SVID after a refused attestation"; fi
}

# refusal-durations FROM_LINE REGEX: for each attestation the server plugin refused after line FROM_LINE of the
# server log with an error matching the JS regex REGEX, the milliseconds from its "sending attestation
# challenge" to its "attestation refused" (one agent at a time, so the lines pair up). One number a line.
refusal-durations() {
  tail -n +"$(($1 + 1))" "$LOGDIR/spire-server.log" | REGEX=$2 node -e '
    let sent;
    for (const l of require("fs").readFileSync(0, "utf8").split("\n")) {
      let e; try { e = JSON.parse(l); } catch { continue; }
      if (e.msg === "sending attestation challenge") sent = Date.parse(e.time);
      else if (e.msg === "attestation refused" && sent !== undefined && new RegExp(process.env.REGEX).test(String(e.error))) {
        // SPIRE times are RFC 3339 with nanoseconds; Date.parse keeps milliseconds.
        console.log(Date.parse(e.time) - sent);
        sent = undefined;
      }
    }'
}
