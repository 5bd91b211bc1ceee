#!/usr/bin/env bash
# Many nodes on this machine: N nodes, each its own swtpm (with EK certificates) + spire-agent + tpm_quote
# agent plugin, against one spire-server and against the HA pair (two spire-servers on one PostgreSQL
# datastore behind a round-robin loopback proxy), real SPIRE v1.13.3 throughout.
#
#   bash scripts/bench-nodes.sh [--nodes N] [--window S] [--modes single,ha] [--agent-ttl TTL] [--allow-failures]
#   (defaults: 10 nodes, 60 s, both modes, 20s)
#
# Per mode, on a fresh PostgreSQL database: start the server(s), start all N agents at once, wait until
# every node attested (or a deadline), then count re-attestations for S seconds (agent SVIDs last TTL, and
# spire-agent re-attests at every rotation, about TTL/2, so the offered re-attestation rate is ~2N/TTL).
# It prints one table, a column per mode: attestations/s and p50/p95 latency (agent log "SVID is not found"
# -> "Node attestation was successful"), re-attestations/s and p50/p95 ("Reattesting node" -> "Successfully
# reattested node"), attestations each server approved, failures (nodes not attested + error lines in
# any agent or server log + warnings about attestation, until the agents are stopped; goal 0), the server plugin's CPU (seconds, % of
# one core over the mode's wall time, share of the CPU every process of the bench used), and resident
# memory per node (spire-agent + agent plugin + swtpm, means of VmRSS and of PSS, which splits shared pages). Exit 1 when a failure was counted (unless
# --allow-failures). Loopback only; every process is stopped and the temp dir removed at exit
# (BENCH_KEEP_LOGS=DIR keeps the logs).
set -euo pipefail
REPODIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPODIR"
nodes=10
window=60
modes=single,ha
ttl=20s
allow=0
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) nodes=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --agent-ttl) ttl=$2; shift 2 ;;
    --allow-failures) allow=1; shift ;;
    *) echo "bench-nodes: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $nodes =~ ^[1-9][0-9]*$ && $nodes -le 200 ]] || { echo "bench-nodes: --nodes must be 1..200" >&2; exit 2; }
[[ $window =~ ^[1-9][0-9]*$ && $window -le 1800 ]] || { echo "bench-nodes: --window must be 1..1800 s" >&2; exit 2; }
[ -x dist/tpm-quote-server ] && [ -x dist/tpm-quote-agent ] || npm run build --silent >&2

RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/tpm-quote-nodes.XXXXXX")
ROOTDIR="$REPODIR/test/integration"
SUITE=bench-nodes
export REPODIR RUNDIR ROOTDIR SUITE
# shellcheck source=../test/integration/common.sh
source "$ROOTDIR/common.sh" >&2
RESULTS=$RUNDIR/results
cleanup() {
  local rc=$?
  trap - EXIT
  set +e
  stop-mode >&2
  stop-swtpms
  kill-all-started >&2 || rc=1
  if [ -n "${BENCH_KEEP_LOGS:-}" ]; then mkdir -p "$BENCH_KEEP_LOGS" && cp -r "$RESULTS"/. "$BENCH_KEEP_LOGS"/; fi
  rm -rf "$RUNDIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export LOG_LEVEL=DEBUG PLUGIN_LOG_LEVEL=info
clk=$(getconf CLK_TCK)

# cpu-ticks PID...: CPU ticks (user + system, including reaped children) of the PIDs and their live
# descendants.
cpu-ticks() {
  local p
  for p in "$@"; do
    [ -n "$p" ] || continue
    echo "$p"
    descendants "$p"
  done | sort -u | while read -r p; do
    # fields after the ")" : 12-15 = utime stime cutime cstime (14-17 of /proc/PID/stat)
    sed -E 's/^.*\) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }'
  done | awk '{ s += $1 } END { print s + 0 }'
}

# Every node's swtpm, provisioned two at a time (swtpm_setup makes two EKs and their certificates).
t0=$SECONDS
for i in $(seq 1 "$nodes"); do
  node-swtpm-start "$i" &
  if [ "$(jobs -rp | wc -l)" -ge 2 ]; then wait -n; fi
done
wait
for i in $(seq 1 "$nodes"); do [ -s "$RUNDIR/node-$i/swtpm.env" ] || fail-now "node $i: no swtpm"; done
nodes-ek-ca $(seq 1 "$nodes")
log-info "$nodes swtpms provisioned in $((SECONDS - t0)) s" >&2

# stop-swtpms: every node's swtpm, ten at a time.
stop-swtpms() {
  local i
  for i in $(seq 1 "$nodes"); do
    { node-swtpm-stop "$i"; forget-stopped "swtpm-$i"; } &
    if [ "$(jobs -rp | wc -l)" -ge 10 ]; then wait -n; fi
  done
  wait
}

servers=()
stop-mode() {
  local i pids=()
  for i in $(seq 1 "$nodes"); do
    [ -z "$(pid-of "agent-$i")" ] || [ -n "$(exit-status "agent-$i")" ] || { track-descendants "agent-$i"; pids+=("$(pid-of "agent-$i")"); }
  done
  [ ${#pids[@]} -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true
  for i in $(seq 1 "$nodes"); do stop-bg "agent-$i" 20; forget-stopped "agent-$i"; done
  # The proxy first: a connection it still relays would hold a server's graceful stop for 10 s.
  for s in proxy "${servers[@]}"; do track-descendants "$s"; stop-bg "$s" 15; forget-stopped "$s"; done
  pg-stop
}

run-mode() {
  local mode=$1 out=$RESULTS/$1 port i s t_start t_window deadline n cpu0 cpu1 plug0 plug1 w0
  mkdir -p "$out"
  pg-start >&2
  case $mode in
    single) servers=(server-a) ;;
    ha) servers=(server-a server-b) ;;
    *) fail-now "unknown mode $mode (single, ha)" ;;
  esac
  for s in "${servers[@]}"; do
    rm -rf "$RUNDIR/$s-data"
    render-ha-server-conf "$s"
    server-conf-tune "$RUNDIR/$s.conf" "$ttl"
    : >"$LOGDIR/$s.log"
    start-spire-server "$RUNDIR/$s.conf" "$s" >&2
    local sock_var
    sock_var=$(tr 'a-z-' 'A-Z_' <<<"$s")_SOCKET
    SERVER_SOCKET=${!sock_var} wait-server-healthy 120 "$s" >&2
  done
  SERVER_SOCKET=$SERVER_A_SOCKET spire-server-cli "bundle show" >"$TRUST_BUNDLE"
  port=$SERVER_A_PORT
  if [ "$mode" = ha ]; then
    save-var PROXY_PORT "$(free-port)"
    : >"$LOGDIR/proxy.log"
    start-proxy "$PROXY_PORT" "$SERVER_A_PORT" "$SERVER_B_PORT" >&2
    port=$PROXY_PORT
  fi
  w0=$(date +%s%N)
  local swtpms=()
  for i in $(seq 1 "$nodes"); do swtpms+=("$(sed -n 's/^SWTPM_PID=//p' "$RUNDIR/node-$i/swtpm.env")"); done
  # The swtpms run through every mode: their CPU before this one is subtracted.
  cpu0=$(cpu-ticks "$(pid-of server-a)" "$(pid-of server-b)" "$PG_PID" "$(pid-of proxy)" "${swtpms[@]}")
  plug0=0
  for s in "${servers[@]}"; do plug0=$((plug0 + $(cpu-ticks "$(plugin-pid "$s" tpm-quote-server)"))); done
  # All agents at once (fresh data dirs: a first attestation each).
  t_start=$(($(date +%s%N) / 1000000))
  for i in $(seq 1 "$nodes"); do
    rm -rf "$RUNDIR/node-$i/data"
    render-node-agent-conf "$i" "$port"
    : >"$LOGDIR/agent-$i.log"
    start-spire-agent "$RUNDIR/node-$i/agent.conf" "agent-$i" >/dev/null
  done
  deadline=$((SECONDS + 120 + nodes * 3))
  local shown=-1
  while :; do
    n=$( (grep -l '"msg":"Node attestation was successful"' "$LOGDIR"/agent-*.log 2>/dev/null || true) | wc -l)
    [ "$n" = "$shown" ] || { log-info "$mode: $n/$nodes nodes attested" >&2; shown=$n; }
    [ "$n" -ge "$nodes" ] && break
    [ "$SECONDS" -lt "$deadline" ] || { log-warn "$mode: only $n/$nodes nodes attested by the deadline"; break; }
    sleep 1
  done
  t_window=$(($(date +%s%N) / 1000000))
  log-info "$mode: re-attestations for $window s" >&2
  sleep "$window"
  # Resident memory per node, then CPU, at the end of the window.
  : >"$out/rss.tsv"
  for i in $(seq 1 "$nodes"); do
    local apid ppid spid
    apid=$(pid-of "agent-$i")
    alive "$apid" || continue
    ppid=$(plugin-pid "agent-$i" tpm-quote-agent) || ppid=
    spid=$(sed -n 's/^SWTPM_PID=//p' "$RUNDIR/node-$i/swtpm.env")
    echo "$i $(vmrss-kb "$apid") $([ -n "$ppid" ] && vmrss-kb "$ppid" || echo 0) $(vmrss-kb "$spid")" \
      "$(pss-kb "$apid") $([ -n "$ppid" ] && pss-kb "$ppid" || echo 0) $(pss-kb "$spid")" >>"$out/rss.tsv"
  done
  local agents=()
  for i in $(seq 1 "$nodes"); do agents+=("$(pid-of "agent-$i")"); done
  cpu1=$(cpu-ticks "$(pid-of server-a)" "$(pid-of server-b)" "$PG_PID" "$(pid-of proxy)" "${agents[@]}" "${swtpms[@]}")
  plug1=0
  for s in "${servers[@]}"; do plug1=$((plug1 + $(cpu-ticks "$(plugin-pid "$s" tpm-quote-server)"))); done
  {
    echo "N=$nodes"
    echo "WINDOW_S=$window"
    echo "T_START_MS=$t_start"
    echo "T_WINDOW_MS=$t_window"
    echo "CPU_PLUGIN_TICKS=$((plug1 - plug0))"
    echo "CPU_TOTAL_TICKS=$((cpu1 - cpu0))"
    echo "CLK_TCK=$clk"
    echo "WALL_MS=$((($(date +%s%N) - w0) / 1000000))"
    # Lines logged from here on come from stopping the agents (e.g. a re-attestation cut short).
    echo "T_STOP_MS=$(($(date +%s%N) / 1000000))"
    echo "SERVERS=$(IFS=,; echo "${servers[*]}")"
  } >"$out/meta.env"
  stop-mode >&2
  for s in "${servers[@]}"; do cp "$LOGDIR/$s.log" "$out/"; done
  for i in $(seq 1 "$nodes"); do cp "$LOGDIR/agent-$i.log" "$out/"; done
}

IFS=, read -r -a mode_list <<<"$modes"
t_begin=$SECONDS
for mode in "${mode_list[@]}"; do run-mode "$mode"; done
echo "tpm_quote, $nodes nodes (swtpm + spire-agent + agent plugin each) on $(nproc) cores, SPIRE v1.13.3, PostgreSQL datastore;" \
  "agent_ttl $ttl, re-attestations counted over $window s; $((SECONDS - t_begin)) s"
ALLOW_FAILURES=$allow node scripts/lib/bench-nodes-report.mjs "$RESULTS" "${mode_list[@]}"
