# Functions shared by every integration step script. run.sh sources this file into each step's shell
# (bash, `set -e -o pipefail`, working directory = the suite's temp dir). Step scripts run as separate
# processes, so anything a later step needs (pids, ports, paths) is kept in files under $RUNDIR/.state.
#
# Environment provided by run.sh: REPODIR (repo root), ROOTDIR (test/integration), SUITE (suite name),
# RUNDIR (the suite's temp dir), and in the teardown SUCCESS (set when every step passed).

: "${REPODIR:?run steps through test/integration/run.sh}"
: "${RUNDIR:?run steps through test/integration/run.sh}"

BINDIR="${BINDIR:-$REPODIR/.tools/bin}"
DISTDIR="${DISTDIR:-$REPODIR/dist}"
CONFDIR="${CONFDIR:-$REPODIR/conf}"
STATEDIR="$RUNDIR/.state"
LOGDIR="$RUNDIR/logs"
TRUST_DOMAIN="${TRUST_DOMAIN:-example.org}"
mkdir -p "$STATEDIR/pids" "$STATEDIR/rc" "$LOGDIR"
touch "$STATEDIR/vars.sh"
# Variables saved by earlier steps (save-var).
# shellcheck disable=SC1091
source "$STATEDIR/vars.sh"

# ---------------------------------------------------------------------------------------------- logging
_ts() { date +%H:%M:%S; }
log-info() { echo "$(_ts) [$SUITE] INFO  $*"; }
log-warn() { echo "$(_ts) [$SUITE] WARN  $*" >&2; }
log-success() { echo "$(_ts) [$SUITE] OK    $*"; }
fail-now() { echo "$(_ts) [$SUITE] FAIL  $*" >&2; exit 1; }

# save-var NAME VALUE: set NAME now and in every later step of this suite.
save-var() {
  printf 'export %s=%q\n' "$1" "$2" >>"$STATEDIR/vars.sh"
  printf -v "$1" '%s' "$2"
  export "${1?}"
}

# ------------------------------------------------------------------------------------------- ports, conf
# free-port: print a TCP port on 127.0.0.1 that nothing listens on and that this suite has not handed out.
free-port() {
  local port
  for _ in $(seq 1 50); do
    port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})')
    if ! grep -qx "$port" "$STATEDIR/ports" 2>/dev/null; then
      echo "$port" >>"$STATEDIR/ports"
      echo "$port"
      return 0
    fi
  done
  fail-now "free-port: no free port found"
}

# render-conf SRC DST (test/helpers/render-conf.sh, shared with the container suites in test/upstream-suites).
# shellcheck source=../helpers/render-conf.sh
source "$REPODIR/test/helpers/render-conf.sh"

# replace-plugin-data FILE NAME_REGEX NEW_BODY_FILE: replace the body of the first `plugin_data {` block that
# follows a line matching NAME_REGEX (e.g. 'NodeAttestor "tpm_quote"') with the lines of NEW_BODY_FILE.
replace-plugin-data() {
  local file=$1 header=$2 body=$3
  awk -v header="$header" -v bodyfile="$body" '
    function emit_body(  line) { while ((getline line < bodyfile) > 0) print "            " line; close(bodyfile) }
    state == 0 && $0 ~ header { state = 1 }
    state == 1 && $0 ~ /plugin_data[ \t]*\{/ { print; emit_body(); state = 2; depth = 1; next }
    state == 2 {
      n = gsub(/\{/, "{"); m = gsub(/\}/, "}"); depth += n - m
      if (depth <= 0) { print; state = 3 }
      next
    }
    { print }
    END { if (state != 3) { print "replace-plugin-data: no plugin_data block after " header > "/dev/stderr"; exit 1 } }
  ' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
}

# remove-plugin FILE 'TYPE "NAME"': delete a whole plugin block (e.g. 'NodeAttestor "tpm_quote"').
remove-plugin() {
  local file=$1 header=$2
  awk -v header="$header" '
    state == 0 && index($0, header) { state = 1; depth = 0 }
    state == 1 {
      n = gsub(/\{/, "{"); m = gsub(/\}/, "}"); depth += n - m
      if (n > 0) opened = 1
      if (opened && depth <= 0) state = 2
      next
    }
    { print }
    END { if (state != 2) { print "remove-plugin: no complete block " header > "/dev/stderr"; exit 1 } }
  ' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
}

# add-plugin FILE BLOCK_TEXT: insert BLOCK_TEXT as the first block inside `plugins {`.
add-plugin() {
  local file=$1 block=$2
  awk -v block="$block" '{ print } /^plugins[ \t]*\{/ && !done { print block; done = 1 }' "$file" >"$file.tmp" &&
    mv "$file.tmp" "$file"
}

# plugin-checksum FILE: the plugin_checksum SPIRE expects (hex SHA-256 of the executable).
plugin-checksum() { sha256sum "$1" | cut -d' ' -f1; }

# ------------------------------------------------------------------------------------- background processes
# start-bg NAME LOGFILE CMD...: run CMD in the background with stdout+stderr in LOGFILE. A small wrapper
# shell waits for it and records its exit status, so later steps can ask how it ended. Both pids are kept.
start-bg() {
  local name=$1 logfile=$2
  shift 2
  if [ -e "$STATEDIR/pids/$name" ]; then
    # Starting NAME again is fine once the previous one has exited; its pid is kept for the final check.
    [ -n "$(exit-status "$name")" ] || fail-now "start-bg: $name already running"
    mv "$STATEDIR/pids/$name" "$STATEDIR/pids/$name.child.previous.$(pid-of "$name")"
    rm -f "$STATEDIR/pids/$name.wrapper"
  fi
  rm -f "$STATEDIR/rc/$name"
  (
    "$@" </dev/null >>"$logfile" 2>&1 &
    echo $! >"$STATEDIR/pids/$name"
    wait $! && rc=0 || rc=$?
    echo "$rc" >"$STATEDIR/rc/$name.tmp" && mv "$STATEDIR/rc/$name.tmp" "$STATEDIR/rc/$name"
  ) </dev/null >/dev/null 2>&1 &
  echo $! >"$STATEDIR/pids/$name.wrapper"
  for _ in $(seq 1 50); do [ -s "$STATEDIR/pids/$name" ] && break; sleep 0.1; done
  [ -s "$STATEDIR/pids/$name" ] || fail-now "start-bg: $name did not start"
  log-info "started $name (pid $(pid-of "$name")): $*"
}

pid-of() { cat "$STATEDIR/pids/$1" 2>/dev/null; }

# alive PID: true while PID exists and is not a zombie.
alive() {
  local state
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# recorded-alive FILE: the pid recorded in FILE, when that process is alive and is the one recorded: it started
# before the record was written (a pid reused by a later process did not). Start times come from /proc in
# clock ticks since boot; boot time is whole seconds, hence one second of slack.
recorded-alive() {
  local pid start_ticks btime hz
  pid=$(cat "$1" 2>/dev/null) || return 1
  alive "$pid" || return 1
  start_ticks=$(sed -E 's/^[0-9]+ \(.*\) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20) || return 1
  btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)
  hz=$(getconf CLK_TCK)
  [ -n "$start_ticks" ] && [ $((btime + start_ticks / hz)) -le $(($(stat -c %Y "$1") + 1)) ] || return 1
  echo "$pid"
}

# descendants PID: every live descendant pid of PID, one a line.
descendants() {
  local pid child
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

# exit-status NAME: the exit status of a process started with start-bg, or nothing while it runs.
exit-status() { cat "$STATEDIR/rc/$1" 2>/dev/null || true; }

# wait-for-exit NAME TIMEOUT_S: wait until NAME has exited; prints its exit status.
wait-for-exit() {
  local name=$1 timeout=$2 deadline
  deadline=$(($(date +%s) + timeout))
  while [ -z "$(exit-status "$name")" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail-now "$name still running after ${timeout}s"
    sleep 0.1
  done
  exit-status "$name"
}

# stop-bg NAME [GRACE_S]: SIGTERM, then SIGKILL after GRACE_S (default 10). Returns once the process and
# its wrapper are gone. Does nothing when NAME was never started or is already gone.
stop-bg() {
  local name=$1 grace=${2:-10} pid deadline
  pid=$(pid-of "$name") || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(($(date +%s) + grace))
    while alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
    if alive "$pid"; then
      log-warn "$name (pid $pid) ignored SIGTERM for ${grace}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  for _ in $(seq 1 100); do [ -n "$(exit-status "$name")" ] && break; sleep 0.05; done
}

# forget-stopped NAME: once NAME, its wrapper and its recorded descendants are all gone, drop their pid
# records, so that a later check (kill-all-started) cannot mistake a reused pid for them. Runs with many
# processes (the node benchmark) wrap pids around within one run. Records of live processes stay.
forget-stopped() {
  local f
  for _ in $(seq 1 20); do alive "$(cat "$STATEDIR/pids/$1.wrapper" 2>/dev/null)" || break; sleep 0.05; done
  for f in "$STATEDIR/pids/$1" "$STATEDIR/pids/$1.wrapper" "$STATEDIR/pids/$1".child.*; do
    [ -e "$f" ] || continue
    alive "$(cat "$f")" || rm -f "$f"
  done
}

# wait-for-log FILE REGEX TIMEOUT_S [NAME]: wait until a line of FILE matches the extended REGEX. With NAME
# (a process from start-bg), fail at once when that process has exited without writing the line.
wait-for-log() {
  local file=$1 regex=$2 timeout=$3 name=${4:-} deadline
  deadline=$(($(date +%s) + timeout))
  until grep -qE -- "$regex" "$file" 2>/dev/null; do
    if [ -n "$name" ] && [ -n "$(exit-status "$name")" ]; then
      sleep 0.2
      grep -qE -- "$regex" "$file" 2>/dev/null && return 0
      fail-now "$name exited (status $(exit-status "$name")) before logging /$regex/"
    fi
    [ "$(date +%s)" -lt "$deadline" ] || fail-now "no line matching /$regex/ in $file after ${timeout}s"
    sleep 0.1
  done
}

# track-descendants NAME: record the live descendants of NAME (plugin processes SPIRE started) so the
# final clean-up can check them too.
track-descendants() {
  local pid child
  pid=$(pid-of "$1") || return 0
  for child in $(descendants "$pid"); do
    echo "$child" >"$STATEDIR/pids/$1.child.$child"
  done
}

# kill-all-started: stop every process this suite started (and every descendant recorded or still
# attached), by pid, then check none remains. Returns non-zero naming any process that survived.
kill-all-started() {
  local f name pid left=()
  for f in "$STATEDIR"/pids/*; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    case $name in *.wrapper | *.child.*) continue ;; esac
    recorded-alive "$f" >/dev/null || continue
    track-descendants "$name"
    stop-bg "$name" 5
  done
  sleep 0.2
  for f in "$STATEDIR"/pids/*; do
    [ -e "$f" ] || continue
    if pid=$(recorded-alive "$f"); then
      kill -KILL "$pid" 2>/dev/null || true
      left+=("$(basename "$f")=$pid")
    fi
  done
  if [ ${#left[@]} -gt 0 ]; then
    log-warn "processes still running after stop (killed now): ${left[*]}"
    return 1
  fi
  return 0
}

# print-logs: every log of the suite (SPIRE's logs carry the plugins' stderr), with headers.
print-logs() {
  local f
  for f in "$LOGDIR"/*; do
    [ -f "$f" ] || continue
    echo "================================ $(basename "$f") ================================"
    cat "$f"
  done
}

# ---------------------------------------------------------------------------------------------- SPIRE
# Paths and ports of one SPIRE deployment in this suite (set up by spire-layout).
spire-layout() {
  [ -n "${SERVER_PORT:-}" ] && return 0
  save-var SERVER_PORT "$(free-port)"
  save-var SERVER_DATA_DIR "$RUNDIR/server-data"
  save-var SERVER_SOCKET "$RUNDIR/sockets/server.sock"
  save-var AGENT_DATA_DIR "$RUNDIR/agent-data"
  save-var AGENT_SOCKET "$RUNDIR/sockets/agent.sock"
  save-var AGENT_ADMIN_SOCKET "$RUNDIR/sockets/agent-admin.sock"
  save-var TRUST_BUNDLE "$RUNDIR/bundle.pem"
  # Addresses in conf/: all on loopback here (the container suites give container names).
  save-var SERVER_BIND_ADDRESS 127.0.0.1
  save-var SERVER_ADDRESS 127.0.0.1
  save-var SWTPM_HOST 127.0.0.1
  # The suite runs its own copy of the built plugins, so a rebuild of dist/ mid-run cannot change them.
  save-var PLUGIN_DIR "$RUNDIR/plugins"
  mkdir -p "$PLUGIN_DIR"
  local exe
  if [ "${PLUGIN_FROM:-bundle}" = dir ]; then
    # PLUGIN_FROM=dir (a suite's save-var before its first spire-layout): the self-contained
    # dist/tpm_quote/ that the README installs, whole, instead of the bundles run by the host's node.
    [ -x "$DISTDIR/tpm_quote/tpm-quote-agent" ] || fail-now "dist/tpm_quote/ missing: npm run build"
    cp -a "$DISTDIR/tpm_quote/." "$PLUGIN_DIR/"
  else
    for exe in tpm-quote-server tpm-quote-agent; do
      if [ -x "$DISTDIR/$exe" ]; then cp -p "$DISTDIR/$exe" "$PLUGIN_DIR/$exe"; fi
    done
  fi
  save-var LOG_LEVEL "${LOG_LEVEL:-DEBUG}"
  save-var PLUGIN_LOG_LEVEL "${PLUGIN_LOG_LEVEL:-debug}"
  save-var TRUST_DOMAIN "$TRUST_DOMAIN"
  # Plugins' sockets and temp files go here, so a suite can check nothing is left behind.
  save-var PLUGIN_TMP "$RUNDIR/plugin-tmp"
  mkdir -p "$SERVER_DATA_DIR" "$AGENT_DATA_DIR" "$RUNDIR/sockets" "$PLUGIN_TMP"
  chmod 0700 "$PLUGIN_TMP"
  if [ -x "$PLUGIN_DIR/tpm-quote-server" ]; then
    save-var SERVER_PLUGIN_CHECKSUM "$(plugin-checksum "$PLUGIN_DIR/tpm-quote-server")"
  fi
  if [ -x "$PLUGIN_DIR/tpm-quote-agent" ]; then
    save-var AGENT_PLUGIN_CHECKSUM "$(plugin-checksum "$PLUGIN_DIR/tpm-quote-agent")"
  fi
}

# ek-ca-layout: a swtpm for this suite (started once) and EK_CA_PATH = its local CA's root and issuer
# certificates in one PEM file, the trust anchors the server plugin's ek_ca_path needs.
ek-ca-layout() {
  [ -n "${EK_CA_PATH:-}" ] && return 0
  [ -n "${SWTPM_CA_ROOT:-}" ] || swtpm-start
  cat "$SWTPM_CA_ROOT" "$SWTPM_CA_ISSUER" >"$RUNDIR/ek-ca.pem"
  save-var EK_CA_PATH "$RUNDIR/ek-ca.pem"
}

# render-server-conf [DST] / render-agent-conf [DST]: the conf/ examples rendered for this suite.
render-server-conf() {
  spire-layout
  ek-ca-layout
  render-conf "$CONFDIR/server.conf" "${1:-$RUNDIR/server.conf}"
}
render-agent-conf() {
  spire-layout
  ek-ca-layout
  render-conf "$CONFDIR/agent.conf" "${1:-$RUNDIR/agent.conf}"
}


# start-spire-server [CONF] [NAME]: start spire-server (log: logs/NAME.log, NAME defaults to spire-server).
# SPIRE and the plugins it starts get PLUGIN_UNIX_SOCKET_DIR and TMPDIR = $PLUGIN_TMP.
start-spire-server() {
  local conf=${1:-$RUNDIR/server.conf} name=${2:-spire-server}
  spire-layout
  start-bg "$name" "$LOGDIR/$name.log" env ${SPIRE_PATH:+PATH="$SPIRE_PATH"} PLUGIN_UNIX_SOCKET_DIR="$PLUGIN_TMP" TMPDIR="$PLUGIN_TMP" "$BINDIR/spire-server" run -config "$conf"
}

# start-spire-agent [CONF] [NAME] [ARGS...]: start spire-agent (e.g. ARGS = -joinToken TOKEN).
# Both run with PATH=$SPIRE_PATH when a suite saved one (e.g. a PATH holding no node).
start-spire-agent() {
  local conf=${1:-$RUNDIR/agent.conf} name=${2:-spire-agent}
  shift 2 || shift $#
  spire-layout
  start-bg "$name" "$LOGDIR/$name.log" env ${SPIRE_PATH:+PATH="$SPIRE_PATH"} PLUGIN_UNIX_SOCKET_DIR="$PLUGIN_TMP" TMPDIR="$PLUGIN_TMP" "$BINDIR/spire-agent" run -config "$conf" "$@"
}

stop-spire-server() { track-descendants "${1:-spire-server}"; stop-bg "${1:-spire-server}" 15; }
stop-spire-agent() { track-descendants "${1:-spire-agent}"; stop-bg "${1:-spire-agent}" 15; }

# spire-server-cli "SUBCOMMAND WORDS" ARGS...: spire-server's CLI against this suite's server socket,
# e.g. spire-server-cli "agent list" -output json.
spire-server-cli() {
  local sub=$1
  shift
  "$BINDIR/spire-server" $sub -socketPath "$SERVER_SOCKET" "$@"
}

# wait-server-healthy [TIMEOUT_S] [NAME]: until `spire-server healthcheck` on $SERVER_SOCKET succeeds (fails
# early if process NAME, default spire-server, exited).
wait-server-healthy() {
  local timeout=${1:-60} name=${2:-spire-server} deadline
  deadline=$(($(date +%s) + timeout))
  until spire-server-cli healthcheck >/dev/null 2>&1; do
    [ -z "$(exit-status "$name")" ] || fail-now "$name exited (status $(exit-status "$name"))"
    [ "$(date +%s)" -lt "$deadline" ] || fail-now "$name not healthy after ${timeout}s"
    sleep 0.2
  done
  log-info "$name healthy"
}

wait-agent-healthy() {
  local timeout=${1:-60} deadline
  deadline=$(($(date +%s) + timeout))
  until "$BINDIR/spire-agent" healthcheck -socketPath "$AGENT_SOCKET" >/dev/null 2>&1; do
    [ -z "$(exit-status spire-agent)" ] || fail-now "spire-agent exited (status $(exit-status spire-agent))"
    [ "$(date +%s)" -lt "$deadline" ] || fail-now "spire-agent not healthy after ${timeout}s"
    sleep 0.2
  done
  log-info "spire-agent healthy"
}

# write-trust-bundle: the server's bundle into $TRUST_BUNDLE for the agent's trust_bundle_path.
write-trust-bundle() { spire-server-cli "bundle show" >"$TRUST_BUNDLE"; }

# token-generate SPIFFE_ID: prints a join token for SPIFFE_ID.
token-generate() {
  spire-server-cli "token generate" -spiffeID "$1" | awk '/^Token:/ {print $2}'
}

agent-list() { spire-server-cli "agent list" "$@"; }

# entry-create ARGS...: `spire-server entry create` (e.g. -parentID P -spiffeID S -selector unix:uid:0).
entry-create() { spire-server-cli "entry create" "$@"; }

# plugin-pid NAME EXE_NAME: the pid of the plugin process EXE_NAME that SPIRE process NAME started.
plugin-pid() {
  local pid child
  pid=$(pid-of "$1") || return 1
  for child in $(descendants "$pid"); do
    if tr '\0' ' ' <"/proc/$child/cmdline" 2>/dev/null | grep -q -- "$2"; then
      echo "$child"
      return 0
    fi
  done
  return 1
}

# wait-plugin-pid NAME EXE_NAME TIMEOUT_S: plugin-pid, waiting for it to appear.
wait-plugin-pid() {
  local deadline pid
  deadline=$(($(date +%s) + $3))
  until pid=$(plugin-pid "$1" "$2"); do
    [ "$(date +%s)" -lt "$deadline" ] || fail-now "no $2 process under $1 after $3 s"
    sleep 0.1
  done
  echo "$pid" >"$STATEDIR/pids/$1.child.$pid"
  echo "$pid"
}

# stop-and-time-plugin NAME PLUGIN_PID: SIGTERM the SPIRE process NAME; prints the milliseconds until
# PLUGIN_PID was gone (or fails after 10 s), then waits for NAME to exit.
stop-and-time-plugin() {
  local name=$1 ppid=$2 t0 ms
  t0=$(date +%s%N)
  kill -TERM "$(pid-of "$name")"
  while alive "$ppid"; do
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$ms" -lt 10000 ] || fail-now "plugin pid $ppid still alive 10 s after SIGTERM to $name"
    sleep 0.01
  done
  ms=$((($(date +%s%N) - t0) / 1000000))
  wait-for-exit "$name" 20 >/dev/null
  echo "$ms"
}

# ---------------------------------------------------------------------------------------- log checks
# spire-json-lines FILE [JS_FILTER]: SPIRE's JSON log lines (log_format = "json") matching a JS expression
# over `e` (the parsed entry), printed one a line. Lines that are not JSON are skipped. To show the first
# few, pipe into `sed -n '1,Np'`, not head or grep -q: they exit before the writer is done, and under the
# steps' pipefail the writer's EPIPE fails the step at random.
spire-json-lines() {
  node -e '
    const fs = require("fs");
    const filter = new Function("e", "return (" + (process.argv[2] || "true") + ");");
    for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
      let e; try { e = JSON.parse(line); } catch { continue; }
      if (e && typeof e === "object" && filter(e)) console.log(line);
    }' "$1" "${2:-true}"
}

# expect-json-line FILE JS_FILTER WHAT: fail naming WHAT unless some JSON log line matches.
expect-json-line() {
  local n
  n=$(spire-json-lines "$1" "$2" | wc -l)
  [ "$n" -gt 0 ] || fail-now "$3: no line of $(basename "$1") matches: $2"
  log-success "$3 ($n line(s))"
}

# expect-start-refused SIDE CONF NAME REGEX: start spire-SIDE (server|agent) with CONF as process NAME;
# it must exit non-zero within 60 s, having logged an error-level line whose msg or error field matches
# the JS regular expression REGEX. Prints that line.
expect-start-refused() {
  local side=$1 conf=$2 name=$3 regex=$4 rc lines
  spire-layout
  start-bg "$name" "$LOGDIR/$name.log" env PLUGIN_UNIX_SOCKET_DIR="$PLUGIN_TMP" TMPDIR="$PLUGIN_TMP" \
    "$BINDIR/spire-$side" run -config "$conf"
  rc=$(wait-for-exit "$name" 60)
  [ "$rc" != 0 ] || fail-now "$name: spire-$side exited 0 (expected it to refuse to start)"
  lines=$(REGEX=$regex spire-json-lines "$LOGDIR/$name.log" \
    'e.level === "error" && new RegExp(process.env.REGEX).test(String(e.error ?? "") + " " + String(e.msg ?? ""))')
  [ -n "$lines" ] || fail-now "$name: spire-$side exited $rc, but no error line matches /$regex/"
  echo "$lines" | sed -n '1,3s/^/  /p'
  log-success "$name: spire-$side refused to start (exit $rc) with an error matching /$regex/"
}

# -------------------------------------------------------------------------------------------------- swtpm
# swtpm-start: start a swtpm with EK certificates through test/helpers/swtpm-fixture.sh; its KEY=VALUE
# output is saved (prefixed SWTPM_ when not already) for later steps.
swtpm-start() {
  local out line key value
  out=$(bash "$REPODIR/test/helpers/swtpm-fixture.sh" start "$RUNDIR/swtpm") || fail-now "swtpm-fixture.sh start failed"
  while IFS= read -r line; do
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    save-var "$key" "$value"
  done <<<"$out"
  # Record the emulator's pid (when the fixture reports one) so the clean-up checks it.
  for key in SWTPM_PID PID; do
    if [ -n "${!key:-}" ]; then echo "${!key}" >"$STATEDIR/pids/swtpm.child.${!key}"; fi
  done
  log-info "swtpm started: $(echo "$out" | tr '\n' ' ')"
}

swtpm-stop() {
  [ -d "$RUNDIR/swtpm" ] || return 0
  bash "$REPODIR/test/helpers/swtpm-fixture.sh" stop "$RUNDIR/swtpm" >/dev/null 2>&1 || true
  if [ -n "${SWTPM_PID:-}" ]; then
    for _ in $(seq 1 50); do alive "$SWTPM_PID" || break; sleep 0.1; done
  fi
}

# ------------------------------------------------------------------------------------------- teardown
# default-teardown: what most suites' teardown does: print every log when the suite failed, stop every
# process (failing when one survived), stop the swtpm.
default-teardown() {
  local rc=0
  swtpm-stop
  kill-all-started || rc=1
  if [ -z "${SUCCESS:-}" ] || [ "$rc" -ne 0 ]; then
    echo "---- suite $SUITE failed: logs follow"
    print-logs
  fi
  return "$rc"
}

# ------------------------------------------------------------------------ tpm_quote checks (added helpers)
# plugin-data-add FILE 'TYPE "NAME"' LINE...: add LINEs (HCL attributes) as the first lines inside the
# plugin_data block of the named plugin, e.g. plugin-data-add agent.conf 'NodeAttestor "tpm_quote"' 'ek_algorithm = "ecc"'.
plugin-data-add() {
  local file=$1 header=$2 lines
  shift 2
  lines=$(printf '%s\n' "$@")
  awk -v header="$header" -v lines="$lines" '
    state == 0 && index($0, header) { state = 1 }
    state == 1 && $0 ~ /plugin_data[ \t]*\{/ {
      print; n = split(lines, l, "\n"); for (i = 1; i <= n; i++) print "            " l[i]; state = 2; next
    }
    { print }
    END { if (state != 2) { print "plugin-data-add: no plugin_data block after " header > "/dev/stderr"; exit 1 } }
  ' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
}

# add-prometheus FILE PORT: SPIRE's Prometheus telemetry on 127.0.0.1:PORT (a top-level telemetry block).
add-prometheus() {
  printf '\ntelemetry {\n    Prometheus {\n        host = "127.0.0.1"\n        port = %s\n    }\n}\n' "$2" >>"$1"
}

# ek-hash-of HANDLE: hex SHA-256 of the PKIX DER of the swtpm's persistent EK at HANDLE (0x81010001 RSA,
# 0x81010016 ECC), computed with tpm2-tools and openssl, independently of our TPM code.
ek-hash-of() {
  local pem="$STATEDIR/ek-$1.pem"
  tpm2_readpublic -T "$SWTPM_TCTI" -c "$1" -f pem -o "$pem" >/dev/null || fail-now "tpm2_readpublic $1 failed"
  openssl pkey -pubin -in "$pem" -outform DER | sha256sum | cut -d' ' -f1
}

# expected-selectors EK_HANDLE EK_CERT_NV_INDEX [PCRS]: the tpm_quote selectors (type:value, sorted) the
# documented table promises for the swtpm, computed with tpm2-tools and openssl: ek_hash, ek_issuer (CN),
# manufacturer and model (EK certificate subjectAltName), firmware_version (TPM_PT_FIRMWARE_VERSION_1), and
# one pcr:<bank>:<i>:<hex> per PCR of PCRS (default sha256:0,1,2,3,4,5,6,7).
expected-selectors() {
  local handle=$1 nv=$2 pcrs=${3:-sha256:0,1,2,3,4,5,6,7} der="$STATEDIR/ekcert-$2.der" fw san bank
  tpm2_nvread -T "$SWTPM_TCTI" "$nv" -o "$der" 2>/dev/null || fail-now "tpm2_nvread $nv failed"
  echo "tpm_quote:ek_hash:$(ek-hash-of "$handle")"
  echo "tpm_quote:ek_issuer:$(openssl x509 -inform DER -in "$der" -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= *//p')"
  san=$(openssl x509 -inform DER -in "$der" -noout -ext subjectAltName | sed -n 's/^ *DirName://p')
  echo "tpm_quote:manufacturer:$(tr '/' '\n' <<<"$san" | sed -n 's/^2\.23\.133\.2\.1=//p')"
  echo "tpm_quote:model:$(tr '/' '\n' <<<"$san" | sed -n 's/^2\.23\.133\.2\.2=//p')"
  fw=$(tpm2_getcap -T "$SWTPM_TCTI" properties-fixed | awk '/TPM2_PT_FIRMWARE_VERSION_1:/ { getline; print $2 }')
  echo "tpm_quote:firmware_version:$((fw >> 16)).$((fw & 0xffff))"
  bank=${pcrs%%:*}
  tpm2_pcrread -T "$SWTPM_TCTI" "$pcrs" | awk -v bank="$bank" '
    /^ *[0-9]+ *: *0x/ { v = tolower(substr($3, 3)); print "tpm_quote:pcr:" bank ":" $1 ":" v }'
}

# agent-selectors AGENT_ID: the agent's selectors as `spire-server agent list` shows them (type:value, sorted).
agent-selectors() {
  agent-list -output json | node -e '
    const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const a = (r.agents || []).find((x) => `spiffe://${x.id.trust_domain}${x.id.path}` === process.argv[1]);
    if (!a) { console.error("agent " + process.argv[1] + " not in agent list"); process.exit(1); }
    if (a.attestation_type !== "tpm_quote") { console.error("attestation_type " + a.attestation_type); process.exit(1); }
    for (const s of a.selectors || []) console.log(`${s.type}:${s.value}`);' "$1" | sort
}

# attested-agent-id LOG [N]: the SPIFFE ID of the Nth (default 1st) "Node attestation was successful" in LOG.
attested-agent-id() {
  spire-json-lines "$1" 'e.msg === "Node attestation was successful"' | sed -n "${2:-1}p" |
    node -e 'const l = require("fs").readFileSync(0, "utf8").trim(); process.stdout.write(l ? String(JSON.parse(l).spiffe_id || "") : "")'
}

# count-json-lines FILE JS_FILTER: how many JSON log lines match.
count-json-lines() { spire-json-lines "$1" "$2" | wc -l; }

# wait-json-count FILE JS_FILTER N TIMEOUT_S [NAME]: until at least N JSON lines of FILE match (fails early
# when process NAME has exited).
wait-json-count() {
  local file=$1 filter=$2 want=$3 timeout=$4 name=${5:-} deadline n
  deadline=$(($(date +%s) + timeout))
  while :; do
    n=$(count-json-lines "$file" "$filter")
    [ "$n" -ge "$want" ] && return 0
    [ -z "$name" ] || [ -z "$(exit-status "$name")" ] || fail-now "$name exited (status $(exit-status "$name")) with $n/$want lines matching $filter"
    [ "$(date +%s)" -lt "$deadline" ] || fail-now "$n/$want lines of $(basename "$file") match $filter after ${timeout}s"
    sleep 0.5
  done
}

# fetch-workload-svid SPIFFE_ID [TIMEOUT_S] [SOCKET]: `spire-agent api fetch x509` until it returns an SVID
# whose SPIFFE ID is exactly SPIFFE_ID; its output is kept in $RUNDIR/svid.txt.
fetch-workload-svid() {
  local want=$1 timeout=${2:-60} socket=${3:-$AGENT_SOCKET} deadline
  deadline=$(($(date +%s) + timeout))
  while :; do
    if "$BINDIR/spire-agent" api fetch x509 -socketPath "$socket" >"$RUNDIR/svid.txt" 2>&1 &&
      awk '/^SPIFFE ID:/ { print $3 }' "$RUNDIR/svid.txt" | grep -qxF -- "$want"; then
      return 0
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { cat "$RUNDIR/svid.txt" >&2; fail-now "no X509-SVID for $want in ${timeout}s"; }
    sleep 1
  done
}

# transient-handles: the number of transient objects loaded in the suite's swtpm (tpm2_getcap; retried a
# few times because swtpm serves one connection at a time).
transient-handles() {
  local out
  for _ in $(seq 1 20); do
    if out=$(tpm2_getcap -T "$SWTPM_TCTI" handles-transient 2>/dev/null); then
      grep -c '0x80' <<<"$out" || true
      return 0
    fi
    sleep 0.2
  done
  fail-now "tpm2_getcap handles-transient failed on $SWTPM_TCTI"
}

# vmrss-kb PID: resident set size of PID in KiB (VmRSS of /proc/PID/status).
vmrss-kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# pss-kb PID: proportional set size of PID in KiB (shared pages divided among their users).
pss-kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }

# no-agent-svid [DATA_DIR]: fail when spire-agent stored an agent SVID (it was never issued one).
no-agent-svid() {
  local dir=${1:-$AGENT_DATA_DIR}
  [ ! -s "$dir/agent_svid.der" ] || fail-now "the agent holds an SVID ($dir/agent_svid.der)"
}

# ------------------------------------------------------------- HA and many nodes (shared datastore, N swtpms)
# server-conf-tune FILE AGENT_TTL: short agent SVIDs (spire-agent re-attests at every rotation, about half
# the TTL) and no per-IP attestation rate limit (every agent here calls from 127.0.0.1).
server-conf-tune() {
  sed -i "s|^server {\$|server {\n    agent_ttl = \"$2\"\n    ratelimit {\n        attestation = false\n    }|" "$1"
  grep -q "agent_ttl = \"$2\"" "$1" || fail-now "could not set agent_ttl in $1"
}

# pg-start: a throw-away PostgreSQL cluster on loopback for this run (scripts/lib/pg-cluster.sh); PG_PORT,
# PG_PID, PG_DATA and PG_CONN (a SPIRE connection_string) are saved. pg-stop stops it and removes its data.
pg-start() {
  local out line
  out=$(bash "$REPODIR/scripts/lib/pg-cluster.sh" start "$RUNDIR/pg") || fail-now "scripts/lib/pg-cluster.sh start failed"
  while IFS= read -r line; do
    if [[ $line =~ ^(PG_[A-Z]+)=(.*)$ ]]; then save-var "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"; fi
  done <<<"$out"
  echo "$PG_PID" >"$STATEDIR/pids/postgres.child.$PG_PID"
  log-info "postgres started (pid $PG_PID, 127.0.0.1:$PG_PORT)"
}
pg-stop() { [ ! -d "$RUNDIR/pg" ] || bash "$REPODIR/scripts/lib/pg-cluster.sh" stop "$RUNDIR/pg" >/dev/null 2>&1 || true; }

# upstream-ca-layout: one self-signed CA (EC P-256) every server of an HA deployment mints its intermediate
# CA from (UpstreamAuthority "disk"), so the trust bundle agents hold is the same whichever server they reach.
upstream-ca-layout() {
  [ -n "${UPSTREAM_CA_CERT:-}" ] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$RUNDIR/upstream-ca.key" -out "$RUNDIR/upstream-ca.pem" -subj "/O=tpm_quote tests/CN=upstream CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectAltName=URI:spiffe://$TRUST_DOMAIN" 2>/dev/null || fail-now "openssl: could not make the upstream CA"
  save-var UPSTREAM_CA_CERT "$RUNDIR/upstream-ca.pem"
  save-var UPSTREAM_CA_KEY "$RUNDIR/upstream-ca.key"
}

# render-ha-server-conf NAME: $RUNDIR/NAME.conf, conf/server.conf for one server of the HA deployment: its
# own port, socket and data dir (saved as <NAME>_PORT, <NAME>_SOCKET with NAME upper-cased, - as _), the
# shared PostgreSQL datastore (pg-start first) and the shared upstream CA.
render-ha-server-conf() {
  local name=$1 var port sock data
  var=$(tr 'a-z-' 'A-Z_' <<<"$name")
  [ -n "${PG_CONN:-}" ] || fail-now "render-ha-server-conf: no PostgreSQL (pg-start first)"
  spire-layout
  ek-ca-layout
  upstream-ca-layout
  port=$(free-port)
  sock=$RUNDIR/sockets/$name.sock
  data=$RUNDIR/$name-data
  mkdir -p "$data"
  save-var "${var}_PORT" "$port"
  save-var "${var}_SOCKET" "$sock"
  SERVER_PORT=$port SERVER_SOCKET=$sock SERVER_DATA_DIR=$data render-conf "$CONFDIR/server.conf" "$RUNDIR/$name.conf"
  printf 'database_type = "postgres"\nconnection_string = "%s"\n' "$PG_CONN" >"$STATEDIR/datastore.body"
  replace-plugin-data "$RUNDIR/$name.conf" 'DataStore "sql"' "$STATEDIR/datastore.body"
  add-plugin "$RUNDIR/$name.conf" "    UpstreamAuthority \"disk\" {
        plugin_data {
            cert_file_path = \"$UPSTREAM_CA_CERT\"
            key_file_path = \"$UPSTREAM_CA_KEY\"
        }
    }"
}

# start-proxy PORT BACKEND_PORT...: the round-robin loopback proxy (scripts/lib/tcp-proxy.mjs) as process
# "proxy", log logs/proxy.log (one line per connection, naming the backend).
start-proxy() {
  start-bg proxy "$LOGDIR/proxy.log" node "$REPODIR/scripts/lib/tcp-proxy.mjs" "$@"
  wait-for-log "$LOGDIR/proxy.log" '^listening' 20 proxy
}

# node-swtpm-start I: a swtpm with EK certificates for node I (its own state and CA under $RUNDIR/node-I);
# its KEY=VALUE lines are kept in $RUNDIR/node-I/swtpm.env and its pid recorded for the clean-up.
node-swtpm-start() {
  local dir=$RUNDIR/node-$1 pid
  mkdir -p "$dir"
  bash "$REPODIR/test/helpers/swtpm-fixture.sh" start "$dir/swtpm" >"$dir/swtpm.env" || fail-now "swtpm-fixture.sh start failed for node $1"
  pid=$(sed -n 's/^SWTPM_PID=//p' "$dir/swtpm.env")
  echo "$pid" >"$STATEDIR/pids/swtpm-$1.child.$pid"
}
node-swtpm-stop() { bash "$REPODIR/test/helpers/swtpm-fixture.sh" stop "$RUNDIR/node-$1/swtpm" >/dev/null 2>&1 || true; }

# nodes-ek-ca I...: EK_CA_PATH = every listed node's swtpm CA (root + issuer) in one PEM file.
nodes-ek-ca() {
  local i
  for i in "$@"; do
    # shellcheck disable=SC1090
    (source "$RUNDIR/node-$i/swtpm.env" && cat "$SWTPM_CA_ROOT" "$SWTPM_CA_ISSUER")
  done >"$RUNDIR/ek-ca.pem"
  save-var EK_CA_PATH "$RUNDIR/ek-ca.pem"
}

# render-node-agent-conf I PORT: $RUNDIR/node-I/agent.conf, conf/agent.conf for node I (its swtpm, data dir,
# sockets) talking to 127.0.0.1:PORT (a server or the proxy).
render-node-agent-conf() {
  local dir=$RUNDIR/node-$1 port=$2
  spire-layout
  mkdir -p "$dir/data"
  (
    # shellcheck disable=SC1091
    source "$dir/swtpm.env"
    SERVER_PORT=$port AGENT_DATA_DIR=$dir/data AGENT_SOCKET=$dir/agent.sock render-conf "$CONFDIR/agent.conf" "$dir/agent.conf"
  )
}
