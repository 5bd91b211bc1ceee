# Helpers for the keylime-* suites (sourced by their steps; not a step itself: its name has no NN- prefix).
# A real Keylime 7.14.3 verifier (test/helpers/keylime-fixture.sh) in $RUNDIR/keylime, and a spire-server
# configuration whose tpm_quote plugin uses verifier = "keylime" with one tpm_policy file.

# keylime-start: start (or, after keylime-stop, restart on the same port and CA) the verifier; saves KEYLIME_*.
keylime-start() {
  local out line
  [ -x "$REPODIR/.tools/keylime-venv/bin/keylime_verifier" ] || fail-now "Keylime missing: bash scripts/install-keylime.sh"
  out=$(bash "$REPODIR/test/helpers/keylime-fixture.sh" start "$RUNDIR/keylime") || fail-now "keylime-fixture.sh start failed"
  while IFS= read -r line; do
    [[ $line =~ ^(KEYLIME_[A-Z_]+)=(.*)$ ]] && save-var "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  done <<<"$out"
  # Recorded so the harness's final check fails the suite if the verifier outlives the teardown.
  echo "$KEYLIME_PID" >"$STATEDIR/pids/keylime.child.$KEYLIME_PID"
  log-info "keylime_verifier up at $KEYLIME_URL (pid $KEYLIME_PID, API $KEYLIME_API_VERSION)"
}

# keylime-stop: stop the verifier (its directory, port and CA are kept for keylime-start).
keylime-stop() {
  [ -d "$RUNDIR/keylime" ] || return 0
  bash "$REPODIR/test/helpers/keylime-fixture.sh" stop "$RUNDIR/keylime" >/dev/null 2>&1 || true
}

# keylime-pause / keylime-resume: SIGSTOP / SIGCONT every verifier process (the fixture made it a group leader).
keylime-pause() { kill -STOP -- "-$KEYLIME_PID"; }
keylime-resume() { kill -CONT -- "-$KEYLIME_PID"; }

# keylime-log: the verifier's log (every start appends to it).
keylime-log() { cat "$KEYLIME_LOG"; }

# keylime-verified-count: how many /verify/evidence requests Keylime answered 200 with every PCR of the policy
# allowed. Keylime logs no "valid" line; per request it logs the POST, one "PCR #<n> contains value allowed
# by TPM policy" line per policy PCR (an ERROR line instead when one fails), then "Sent 200". A request counts
# when all POLICY_PCR_COUNT PCR lines between its POST and its "Sent 200" are "allowed" and no ERROR line is.
keylime-verified-count() {
  awk -v want="$POLICY_PCR_COUNT" '
    /POST \/v[0-9.]+\/verify\/evidence/ { inreq = 1; ok = 0; bad = 0; next }
    inreq && /ERROR/ { bad = 1 }
    inreq && /contains value allowed by TPM policy/ { ok++ }
    inreq && /Sent [0-9]+ in/ { if ($0 ~ /Sent 200 in/ && !bad && ok == want) n++; inreq = 0 }
    END { print n + 0 }
  ' "$KEYLIME_LOG"
}

# keylime-tpm-policy: write $RUNDIR/tpm-policy.json, a tpm_policy of the swtpm's sha256 PCRs 0-7 as they are now.
keylime-tpm-policy() {
  TPM2TOOLS_TCTI="$SWTPM_TCTI" tpm2_pcrread sha256:0,1,2,3,4,5,6,7 | node -e '
    const doc = {};
    for (const l of require("fs").readFileSync(0, "utf8").split("\n")) {
      const m = /^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)\s*$/.exec(l);
      if (m) doc[m[1]] = [m[2].toLowerCase()];
    }
    if (Object.keys(doc).length !== 8) { console.error("tpm2_pcrread gave " + Object.keys(doc).length + " PCRs"); process.exit(1); }
    process.stdout.write(JSON.stringify(doc, null, 2));
  ' >"$RUNDIR/tpm-policy.json" || fail-now "making the tpm_policy from tpm2_pcrread failed"
  save-var POLICY_PCR_COUNT 8
}

# keylime-block TIMEOUT [LINE...]: the plugin's keylime { ... } block for the fixture's verifier, with LINEs added.
keylime-block() {
  local timeout=$1 line
  shift
  printf 'keylime {\n    url = "%s"\n    ca_path = "%s"\n    client_cert_path = "%s"\n    client_key_path = "%s"\n    timeout = "%s"\n' \
    "$KEYLIME_URL" "$KEYLIME_CA" "$KEYLIME_CLIENT_CERT" "$KEYLIME_CLIENT_KEY" "$timeout"
  for line in "$@"; do printf '    %s\n' "$line"; done
  printf '}\n'
}

# keylime-server-conf TIMEOUT: render conf/server.conf for this suite and switch its tpm_quote plugin to Keylime
# mode: PCR 7 is extended first (so the policy means something), then the swtpm's sha256 PCRs 0-7 become the
# tpm_policy file both modes read.
keylime-server-conf() {
  local timeout=$1
  render-server-conf
  render-agent-conf
  TPM2TOOLS_TCTI="$SWTPM_TCTI" tpm2_pcrextend "7:sha256=$(printf 'ab%.0s' $(seq 1 32))" >/dev/null
  keylime-tpm-policy
  cat >"$RUNDIR/plugin-data.hcl" <<CONF
ek_ca_path = "$EK_CA_PATH"
pcr_selection = "sha256:0-7"
pcr_policy_path = "$RUNDIR/tpm-policy.json"
verifier = "keylime"
$(keylime-block "$timeout")
log_level = "$PLUGIN_LOG_LEVEL"
CONF
  replace-plugin-data "$RUNDIR/server.conf" 'NodeAttestor "tpm_quote"' "$RUNDIR/plugin-data.hcl"
  grep -q 'verifier = "keylime"' "$RUNDIR/server.conf" || fail-now "server.conf: Keylime mode not set"
}

# keylime-no-registration: Keylime never learned of a node: its agent table is empty and it served nothing
# but GET /version and POST /v2.x/verify/evidence (no registrar, no /agents routes).
keylime-no-registration() {
  local agents others
  agents=$("$REPODIR/.tools/keylime-venv/bin/python" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
tables = [r[0] for r in db.execute("select name from sqlite_master where type = \"table\"")]
if "verifiermain" not in tables: sys.exit("no verifiermain table: " + ", ".join(tables))
print(db.execute("select count(*) from verifiermain").fetchone()[0])
' "$RUNDIR/keylime/cv_data.sqlite") || fail-now "cannot read Keylime's database"
  [ "$agents" = 0 ] || fail-now "Keylime's verifiermain table holds $agents agent(s)"
  others=$(grep -E 'keylime\.web - INFO - (GET|POST|PUT|DELETE|PATCH) ' "$KEYLIME_LOG" |
    grep -vE ' (GET /version|POST /v2\.[0-9]+/verify/evidence)$' || true)
  [ -z "$others" ] || { echo "$others" | head -5; fail-now "Keylime served requests other than /version and /verify/evidence"; }
  log-success "no node registered with Keylime (verifiermain empty; only GET /version and POST /verify/evidence served)"
}

# keylime-teardown: stop the verifier, then the default teardown (which prints every log on failure).
keylime-teardown() {
  keylime-stop
  [ -z "${KEYLIME_LOG:-}" ] || cp "$KEYLIME_LOG" "$LOGDIR/keylime-verifier.log" 2>/dev/null || true
  default-teardown
}
