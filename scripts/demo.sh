#!/usr/bin/env bash
# `npm run demo`: tpm_quote end to end on this machine, non-interactive.
#   1. installs what is missing (npm packages, swtpm + tpm2-tools, spire-server/spire-agent v1.13.3) and
#      builds the plugins (dist/);
#   2. in a temp dir: a swtpm with EK certificates, spire-server and spire-agent from the conf/ examples
#      (rendered as the integration suites render them), the agent attesting with tpm_quote;
#   3. a node alias keyed on the tpm_quote:ek_hash selector, a workload entry under it, and a workload
#      fetching its X509-SVID from the Workload API;
#   4. prints the agent ID, its selectors and the SVID's SPIFFE ID (read back from the certificate);
#   5. stops every process it started and removes the temp dir (also on failure or Ctrl-C).
# Exits non-zero on any failure (and then prints the SPIRE logs). DEMO_SKIP_INSTALL=1 skips step 1's
# installs (not the build).
set -euo pipefail
REPODIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPODIR"

say() { printf '\n==> %s\n' "$*"; }

# ------------------------------------------------------------------------------------ 1. install, build
if [ -z "${DEMO_SKIP_INSTALL:-}" ]; then
  say "installing what is missing"
  # npm packages: the same stamp as scripts/install-deps.sh (which would also install Keylime, not needed here).
  stamp=node_modules/.installed-from-lock.sha256
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "node_modules up to date"
  else
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
  fi
  bash scripts/install-tpm-tools.sh
  bash scripts/install-spire.sh
fi
say "building the plugins"
npm run build --silent

# --------------------------------------------------------------------------- 2. swtpm + SPIRE in a temp dir
RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/tpm-quote-demo.XXXXXX")
ROOTDIR="$REPODIR/test/integration"
SUITE=demo
export REPODIR RUNDIR ROOTDIR SUITE
# The integration suites' helpers: starting/stopping processes by pid, rendering conf/, SPIRE CLI wrappers.
# shellcheck source=../test/integration/common.sh
source "$ROOTDIR/common.sh"

demo_ok=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ -z "$demo_ok" ]; then
    echo "---- demo failed (exit $rc): SPIRE logs follow" >&2
    print-logs >&2
  fi
  say "cleaning up"
  swtpm-stop
  kill-all-started || rc=1
  rm -rf "$RUNDIR"
  echo "stopped spire-agent, spire-server, swtpm; removed $RUNDIR"
  if [ -z "$demo_ok" ] && [ "$rc" -eq 0 ]; then rc=1; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting swtpm, spire-server and spire-agent in $RUNDIR"
export LOG_LEVEL=INFO PLUGIN_LOG_LEVEL=info
render-server-conf
render-agent-conf
start-spire-server
wait-server-healthy 60
write-trust-bundle
start-spire-agent
wait-for-log "$LOGDIR/spire-agent.log" '"msg":"Node attestation was successful"' 90 spire-agent
wait-agent-healthy 60
agent_id=$(attested-agent-id "$LOGDIR/spire-agent.log")
ek_hash=${agent_id##*/}
[[ $agent_id == "spiffe://$TRUST_DOMAIN/spire/agent/tpm_quote/"* ]] || fail-now "unexpected agent ID '$agent_id'"

# ------------------------------------------------------------------------------ 3. entries, workload SVID
say "registering a node alias on tpm_quote:ek_hash and a workload under it"
node_id="spiffe://$TRUST_DOMAIN/demo/node"
workload_id="spiffe://$TRUST_DOMAIN/demo/workload"
entry-create -node -spiffeID "$node_id" -selector "tpm_quote:ek_hash:$ek_hash"
entry-create -parentID "$node_id" -spiffeID "$workload_id" -selector "unix:uid:$(id -u)" -x509SVIDTTL 600
say "fetching the workload's X509-SVID (spire-agent api fetch x509)"
fetch-workload-svid "$workload_id" 60
mkdir -p "$RUNDIR/svid"
"$BINDIR/spire-agent" api fetch x509 -socketPath "$AGENT_SOCKET" -write "$RUNDIR/svid" >/dev/null
svid_id=$(openssl x509 -in "$RUNDIR/svid/svid.0.pem" -noout -ext subjectAltName | sed -n 's/^ *URI://p')
[ "$svid_id" = "$workload_id" ] || fail-now "the SVID's URI SAN is '$svid_id', expected $workload_id"

# ---------------------------------------------------------------------------------------------- 4. report
say "result"
echo "agent ID: $agent_id"
echo "agent selectors (spire-server agent list):"
agent-selectors "$agent_id" | sed 's/^/  /'
echo "workload SVID SPIFFE ID: $svid_id"
demo_ok=1
