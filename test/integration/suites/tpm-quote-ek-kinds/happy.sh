# attest-and-fetch KIND CONF LOG_NAME 'EXTRA_SELECTOR...': start an agent from CONF, check the documented
# agent ID and selectors, register a node alias keyed on tpm_quote selectors (ek_hash + extras) and a
# workload under it, fetch the workload's X509-SVID, check its SPIFFE ID.
attest-and-fetch() {
  local kind=$1 conf=$2 name=$3 hashvar="EK_HASH_${1^^}" want_id got_id extra sel
  shift 3
  want_id="spiffe://$TRUST_DOMAIN/spire/agent/tpm_quote/${!hashvar}"
  start-spire-agent "$conf" "$name"
  wait-for-log "$LOGDIR/$name.log" '"msg":"Node attestation was successful"' 90 "$name"
  got_id=$(attested-agent-id "$LOGDIR/$name.log")
  [ "$got_id" = "$want_id" ] || fail-now "$kind: agent ID $got_id, expected $want_id"
  log-success "$kind: agent attested as $got_id (EK hash from tpm2_readpublic + openssl)"

  agent-selectors "$got_id" >"$RUNDIR/selectors-$kind.txt"
  if ! diff -u "$RUNDIR/expected-$kind.txt" "$RUNDIR/selectors-$kind.txt"; then
    fail-now "$kind: agent list selectors differ from the documented set computed from the swtpm"
  fi
  log-success "$kind: agent list shows the $(wc -l <"$RUNDIR/selectors-$kind.txt") documented selectors"
  spire-server-cli "agent show" -spiffeID "$got_id" >"$RUNDIR/agent-show-$kind.txt"
  grep -qE "SPIFFE ID +: $got_id\$" "$RUNDIR/agent-show-$kind.txt" &&
    grep -qE "Attestation type +: tpm_quote\$" "$RUNDIR/agent-show-$kind.txt" &&
    grep -qF "tpm_quote:ek_hash:${!hashvar}" "$RUNDIR/agent-show-$kind.txt" ||
    { cat "$RUNDIR/agent-show-$kind.txt"; fail-now "$kind: agent show lacks the ID, type or ek_hash selector"; }
  log-success "$kind: agent show: $(grep -E 'SPIFFE ID|Attestation type' "$RUNDIR/agent-show-$kind.txt" | tr -s ' ' | paste -sd';')"

  sel=(-selector "tpm_quote:ek_hash:${!hashvar}")
  for extra in "$@"; do sel+=(-selector "$extra"); done
  entry-create -node -spiffeID "spiffe://$TRUST_DOMAIN/node/$kind" "${sel[@]}" >/dev/null
  entry-create -parentID "spiffe://$TRUST_DOMAIN/node/$kind" -spiffeID "spiffe://$TRUST_DOMAIN/workload/$kind" \
    -selector "unix:uid:$(id -u)" -x509SVIDTTL 600 >/dev/null
  fetch-workload-svid "spiffe://$TRUST_DOMAIN/workload/$kind" 60
  log-success "$kind: workload fetched an X509-SVID with SPIFFE ID spiffe://$TRUST_DOMAIN/workload/$kind (node alias on ${sel[*]})"
}
