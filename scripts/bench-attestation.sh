#!/usr/bin/env bash
# End-to-end tpm_quote attestation latency through real spire-server/spire-agent v1.13.3 and a swtpm.
#
#   bash scripts/bench-attestation.sh [--runs N] [--reattests N]     (defaults 20 and 20; ~3 min)
#
# Initial attestation: N times (after one warm-up run that creates the AK), spire-agent is started with no
# SVID (same ak_data_dir) and stopped once attested. Re-attestation: one agent with short SVIDs
# (agent_ttl 20s) until it has reattested N times (SPIRE's rotation check paces these, ~6 s apart).
# spire-server's per-IP attestation rate limit is turned off (all runs come from 127.0.0.1).
# Per attestation it reads, from SPIRE's logs (which carry the plugins' log lines):
#   agent start -> attested   wall time from starting spire-agent to its "Node attestation was successful"
#   SPIRE attestation         agent log "SVID is not found. Starting node attestation" -> "Node attestation
#                             was successful" (re-attestation: "Reattesting node" -> "Successfully reattested node")
#   server plugin duration_ms "agent attested": stream start -> verdict (includes the agent's TPM work)
#   server plugin busy_ms     the server plugin's own time (checks, MakeCredential, quote verification)
#   agent plugin busy_ms      "quote read from the TPM": the agent plugin's own time (TPM reads, activation, quote)
#   agent plugin tpm_ms       of which in TPM commands
# and prints p50 / p95 / min / max in milliseconds. Everything runs in a temp dir removed at exit
# (BENCH_KEEP_LOGS=DIR copies SPIRE's logs there first).
set -euo pipefail
REPODIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPODIR"
runs=20
reattests=20
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --reattests) reattests=$2; shift 2 ;;
    *) echo "bench-attestation: unknown option $1" >&2; exit 2 ;;
  esac
done

npm run build --silent >&2
RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/tpm-quote-bench.XXXXXX")
ROOTDIR="$REPODIR/test/integration"
SUITE=bench
export REPODIR RUNDIR ROOTDIR SUITE
# shellcheck source=../test/integration/common.sh
source "$ROOTDIR/common.sh" >&2
cleanup() {
  local rc=$?
  trap - EXIT
  set +e
  swtpm-stop
  kill-all-started >&2 || rc=1
  if [ -n "${BENCH_KEEP_LOGS:-}" ]; then mkdir -p "$BENCH_KEEP_LOGS" && cp -r "$LOGDIR"/. "$BENCH_KEEP_LOGS"/; fi
  rm -rf "$RUNDIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export LOG_LEVEL=DEBUG PLUGIN_LOG_LEVEL=${PLUGIN_LOG_LEVEL:-info}
{
  render-server-conf
  # Short agent SVIDs for the re-attestations. spire-server rate-limits node attestation per caller IP
  # (about one a second); back-to-back runs from 127.0.0.1 would mostly measure that wait, so it is off.
  sed -i 's|^server {$|server {\n    agent_ttl = "20s"\n    ratelimit {\n        attestation = false\n    }|' "$RUNDIR/server.conf"
  render-agent-conf
  start-spire-server
  wait-server-healthy 60
  write-trust-bundle
} >&2

t_begin=$SECONDS
# ----------------------------------------------------------------------------------------- initial attestations
: >"$RUNDIR/initial.tsv"
for i in $(seq 0 "$runs"); do
  rm -f "$AGENT_DATA_DIR"/agent_svid.der "$AGENT_DATA_DIR"/keys.json "$AGENT_DATA_DIR"/bundle.der
  t0=$(date +%s%N)
  start-spire-agent "$RUNDIR/agent.conf" "agent-$i" >/dev/null
  wait-for-log "$LOGDIR/agent-$i.log" '"msg":"Node attestation was successful"' 90 "agent-$i"
  stop-spire-agent "agent-$i" >&2
  # run 0 is the warm-up (creates the AK, first plugin start)
  [ "$i" -eq 0 ] || echo "$i $t0" >>"$RUNDIR/initial.tsv"
  printf '\rinitial attestations: %d/%d' "$i" "$runs" >&2
done
echo >&2
server_lines_before_reattest=$(count-json-lines "$LOGDIR/spire-server.log" 'e.msg === "agent attested"')

# ----------------------------------------------------------------------------------------------- re-attestations
rm -f "$AGENT_DATA_DIR"/agent_svid.der "$AGENT_DATA_DIR"/keys.json "$AGENT_DATA_DIR"/bundle.der
start-spire-agent "$RUNDIR/agent.conf" agent-reattest >/dev/null
wait-for-log "$LOGDIR/agent-reattest.log" '"msg":"Node attestation was successful"' 90 agent-reattest
deadline=$((SECONDS + reattests * 15 + 60))
while :; do
  n=$(count-json-lines "$LOGDIR/agent-reattest.log" 'e.msg === "Successfully reattested node"')
  printf '\rre-attestations: %d/%d' "$n" "$reattests" >&2
  [ "$n" -ge "$reattests" ] && break
  [ -z "$(exit-status agent-reattest)" ] || fail-now "spire-agent exited during the re-attestations"
  [ "$SECONDS" -lt "$deadline" ] || fail-now "only $n re-attestations"
  sleep 1
done
echo >&2
stop-spire-agent agent-reattest >&2
stop-spire-server >&2
elapsed=$((SECONDS - t_begin))

# ------------------------------------------------------------------------------------------------------ report
SPIRE_LOG_MJS="$REPODIR/scripts/lib/spire-log.mjs" node --input-type=module - "$LOGDIR" "$RUNDIR/initial.tsv" "$runs" "$reattests" "$server_lines_before_reattest" "$elapsed" <<'EOF'
import fs from "node:fs";
const { jsonLines: lines, spireTimeMs: ms, percentile: pct } = await import(process.env.SPIRE_LOG_MJS);
const [logdir, initialTsv, runs, reattests, serverBefore, elapsed] = process.argv.slice(2);
const first = (es, msg) => es.find((e) => e.msg === msg);
const series = {};
const add = (name, v) => { if (typeof v === "number" && Number.isFinite(v)) (series[name] ??= []).push(v); };

const server = lines(`${logdir}/spire-server.log`).filter((e) => e.msg === "agent attested");
const serverInitial = server.slice(1, Number(serverBefore)); // [0] is the warm-up
const serverReattest = server.slice(Number(serverBefore) + 1); // [serverBefore] is the re-attest agent's first attestation

for (const row of fs.readFileSync(initialTsv, "utf8").trim().split("\n")) {
  const [i, t0ns] = row.split(" ");
  const es = lines(`${logdir}/agent-${i}.log`);
  const ok = first(es, "Node attestation was successful");
  const start = first(es, "SVID is not found. Starting node attestation");
  const quote = first(es, "quote read from the TPM");
  add("initial|agent start -> attested (wall)", ms(ok.time) - Number(BigInt(t0ns) / 1000n) / 1000);
  if (start) add("initial|SPIRE attestation (agent log)", ms(ok.time) - ms(start.time));
  add("initial|agent plugin busy_ms", quote?.busy_ms);
  add("initial|agent plugin tpm_ms", quote?.tpm_ms);
}
for (const s of serverInitial) { add("initial|server plugin duration_ms", s.duration_ms); add("initial|server plugin busy_ms", s.busy_ms); }

const re = lines(`${logdir}/agent-reattest.log`);
let from;
for (const e of re) {
  if (e.msg === "Reattesting node") from = ms(e.time);
  else if (e.msg === "Successfully reattested node" && from !== undefined) { add("reattest|SPIRE re-attestation (agent log)", ms(e.time) - from); from = undefined; }
}
const quotes = re.filter((e) => e.msg === "quote read from the TPM").slice(1);
for (const q of quotes) { add("reattest|agent plugin busy_ms", q.busy_ms); add("reattest|agent plugin tpm_ms", q.tpm_ms); }
for (const s of serverReattest) { add("reattest|server plugin duration_ms", s.duration_ms); add("reattest|server plugin busy_ms", s.busy_ms); }

const f = (v) => v.toFixed(1).padStart(8);
console.log(`tpm_quote end-to-end attestation latency, ms (spire v1.13.3 + swtpm; ${runs} initial, ${reattests} re-attestations; ${elapsed} s)`);
console.log(`${"phase".padEnd(9)} ${"measure".padEnd(36)} ${"n".padStart(4)} ${"p50".padStart(8)} ${"p95".padStart(8)} ${"min".padStart(8)} ${"max".padStart(8)}`);
let bad = false;
for (const [key, xs] of Object.entries(series)) {
  const [phase, name] = key.split("|");
  console.log(`${phase.padEnd(9)} ${name.padEnd(36)} ${String(xs.length).padStart(4)} ${f(pct(xs, 50))} ${f(pct(xs, 95))} ${f(Math.min(...xs))} ${f(Math.max(...xs))}`);
  const want = phase === "initial" ? Number(runs) : Number(reattests);
  if (xs.length < want) { console.error(`bench-attestation: ${key}: ${xs.length} samples, want ${want}`); bad = true; }
}
process.exit(bad ? 1 : 0);
EOF
