#!/usr/bin/env bash
# Runs a real Keylime 7.14.3 verifier (keylime_verifier) for tests, in a directory of its own.
#
#   keylime-fixture.sh start <dir>   writes configs into <dir>, starts the verifier on 127.0.0.1:<free port>
#                                    with sqlite and its self-made CA (tls_dir = generate), waits until
#                                    GET /version answers, then prints KEY=VALUE lines on stdout:
#                                    KEYLIME_URL, KEYLIME_PORT, KEYLIME_CA, KEYLIME_CLIENT_CERT,
#                                    KEYLIME_CLIENT_KEY, KEYLIME_PID, KEYLIME_LOG, KEYLIME_API_VERSION
#                                    Started again in the same <dir> after stop, it reuses the port and CA.
#   keylime-fixture.sh stop <dir>    stops the verifier started in <dir> (SIGCONT first, in case a test
#                                    SIGSTOPped it; SIGTERM, then SIGKILL after 10 s).
#
# Needs scripts/install-keylime.sh to have run (KEYLIME_VENV overrides .tools/keylime-venv).
# KEYLIME_MB_POLICY=<name> (e.g. example) sets measured_boot_policy_name and measured_boot_evaluate = always;
# unset, both keep the template defaults (accept-all, once).
# KEYLIME_BLANK_FILES="<path>..." starts the verifier in a private mount namespace (unshare -m, needs root) in
# which each path (symlinks followed) is an empty file bind-mounted over the real one: a host missing a
# library or tool, e.g. libefivar.so.1, without uninstalling anything. Nothing outside that namespace changes.
# Nothing registers with a registrar: only the stateless POST /v2.x/verify/evidence is used.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${KEYLIME_VENV:-$root/.tools/keylime-venv}

die() { echo "keylime-fixture: $*" >&2; exit 1; }

free_port() {
  # Ask the kernel for a free loopback port; the short race until the verifier binds it is accepted.
  "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

write_configs() {
  local dir=$1 port=$2 mb_evaluate=once
  # The stateless endpoint only judges a measured-boot reference state with measured_boot_evaluate = always
  # (docs/keylime.md, "Measured boot"); KEYLIME_MB_POLICY names the policy that judges it.
  [ -z "${KEYLIME_MB_POLICY:-}" ] || mb_evaluate=always
  # Every option of Keylime 7.14.3's verifier.conf template (config version 2.6), at its default except
  # ip/port/database and the things a test instance must not do (no registrar, no revocation notifier).
  cat >"$dir/verifier.conf" <<EOF
[verifier]
version = 2.6
uuid = default
ip = 127.0.0.1
port = $port
registrar_ip = 127.0.0.1
registrar_port = 8891
enable_agent_mtls = True
tls_dir = generate
server_key = default
server_key_password =
server_cert = default
cert_subject_alternative_names =
trusted_client_ca = default
client_key = default
client_key_password =
client_cert = default
trusted_server_ca = default
authorization_provider = simple
database_url = sqlite
database_pool_sz_ovfl = 5,10
auto_migrate_db = True
num_workers = 0
max_workers = 16
exponential_backoff = True
retry_interval = 2
max_retries = 5
quote_interval = 2
max_upload_size = 104857600
request_timeout = 60.0
measured_boot_policy_name = ${KEYLIME_MB_POLICY:-accept-all}
measured_boot_imports = []
measured_boot_evaluate = $mb_evaluate
severity_labels = ["info", "notice", "warning", "error", "critical", "alert", "emergency"]
severity_policy = [{"event_id": ".*", "severity_label" : "emergency"}]
ignore_tomtou_errors = False
durable_attestation_import =
persistent_store_url =
transparency_log_url =
time_stamp_authority_url =
time_stamp_authority_certs_path =
persistent_store_format = json
persistent_store_encoding =
transparency_log_sign_algo = sha256
signed_attributes =
require_allow_list_signatures = False
mode = pull
challenge_lifetime = 1800
verification_timeout = 0
session_create_rate_limit_per_ip = 50
session_create_rate_limit_window_ip = 60
session_create_rate_limit_per_agent = 15
session_create_rate_limit_window_agent = 60
session_lifetime = 180
extend_token_on_attestation = True
auto_recover_attestation_failures = False
shutdown_drain_timeout = 10

[revocations]
enabled_revocation_notifications = []
zmq_ip = 127.0.0.1
zmq_port = 8992
webhook_url =
EOF
  cat >"$dir/ca.conf" <<'EOF'
[ca]
version = 2.6
password = default
cert_country = US
cert_ca_name = Keylime Test CA
cert_state = MA
cert_locality = Lexington
cert_organization = tpm_quote tests
cert_org_unit = 53
cert_ca_lifetime = 3650
cert_lifetime = 365
cert_bits = 2048
cert_crl_dist = http://localhost:38080/crl
EOF
  # Keylime's logging.conf format (Python fileConfig): everything to stderr, which the fixture redirects.
  cat >"$dir/logging.conf" <<'EOF'
[logging]
version = 2.6

[loggers]
keys = root,keylime

[handlers]
keys = consoleHandler

[formatters]
keys = formatter

[formatter_formatter]
format = %(asctime)s.%(msecs)03d - %(name)s - %(levelname)s - %(message)s
datefmt = %Y-%m-%d %H:%M:%S

[logger_root]
level = INFO
handlers = consoleHandler

[handler_consoleHandler]
class = StreamHandler
level = INFO
formatter = formatter
args = (sys.stderr,)

[logger_keylime]
level = INFO
qualname = keylime
handlers =
EOF
}

start() {
  local dir=$1
  [ -x "$venv/bin/keylime_verifier" ] || die "no keylime_verifier in $venv (run scripts/install-keylime.sh)"
  command -v tpm2_startup >/dev/null || die "tpm2_startup (tpm2-tools) is not on PATH"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/verifier.pid" ] && kill -0 "$(cat "$dir/verifier.pid")" 2>/dev/null; then
    die "a verifier already runs from $dir (pid $(cat "$dir/verifier.pid"))"
  fi
  local port pid log=$dir/verifier.log attempt launch=() blank real
  if [ -n "${KEYLIME_BLANK_FILES:-}" ]; then
    : >"$dir/blank"
    launch=(unshare --mount --propagation private -- bash -c 'set -e; b=$1; shift; while [ "$1" != -- ]; do mount --bind "$b" "$1"; shift; done; shift; exec "$@"' blank "$dir/blank")
    for blank in $KEYLIME_BLANK_FILES; do
      real=$(readlink -e "$blank") || die "KEYLIME_BLANK_FILES: $blank does not exist"
      launch+=("$real")
    done
    launch+=(--)
  fi
  for attempt in 1 2 3; do
    # A restart in the same <dir> keeps the port (and the CA already generated there), so clients and
    # configs made for the first start keep working.
    if [ -f "$dir/port" ] && [ "$attempt" -eq 1 ]; then port=$(cat "$dir/port"); else port=$(free_port); fi
    echo "$port" >"$dir/port"
    write_configs "$dir" "$port"
    : >"$log"
    # setsid: its own process group, so stop can end the verifier and any worker it forks. unshare and the
    # shell exec in place, so $! stays the verifier's pid.
    KEYLIME_DIR=$dir KEYLIME_VERIFIER_CONFIG=$dir/verifier.conf KEYLIME_CA_CONFIG=$dir/ca.conf \
      KEYLIME_LOGGING_CONFIG=$dir/logging.conf PATH="$venv/bin:$PATH" \
      setsid "${launch[@]}" "$venv/bin/keylime_verifier" >>"$log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/verifier.pid"
    local deadline=$((SECONDS + 60)) up=0
    while [ $SECONDS -lt $deadline ]; do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if grep -q "Listening on 127.0.0.1:$port" "$log" && [ -f "$dir/cv_ca/cacert.crt" ] &&
        curl -sS --max-time 5 --cacert "$dir/cv_ca/cacert.crt" --cert "$dir/cv_ca/client-cert.crt" \
          --key "$dir/cv_ca/client-private.pem" "https://127.0.0.1:$port/version" >"$dir/version.json" 2>/dev/null; then
        up=1
        break
      fi
      sleep 0.2
    done
    if [ $up -eq 1 ]; then break; fi
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || true
      die "verifier (pid $pid) did not answer GET /version within 60 s; log: $log"
    fi
    # It died: a lost race for the port is retried, anything else is reported.
    grep -qi "address already in use" "$log" || { tail -n 30 "$log" >&2; die "verifier exited during start-up; log: $log"; }
  done
  [ "${up:-0}" -eq 1 ] || die "verifier could not bind a free port after 3 tries; log: $log"
  local api
  api=$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"]["current_version"])' "$dir/version.json")
  echo "KEYLIME_URL=https://127.0.0.1:$port"
  echo "KEYLIME_PORT=$port"
  echo "KEYLIME_CA=$dir/cv_ca/cacert.crt"
  echo "KEYLIME_CLIENT_CERT=$dir/cv_ca/client-cert.crt"
  echo "KEYLIME_CLIENT_KEY=$dir/cv_ca/client-private.pem"
  echo "KEYLIME_PID=$pid"
  echo "KEYLIME_LOG=$log"
  echo "KEYLIME_API_VERSION=$api"
}

stop() {
  local dir=$1 pid
  [ -f "$dir/verifier.pid" ] || return 0
  pid=$(cat "$dir/verifier.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -CONT -- "-$pid" 2>/dev/null || true
    kill -TERM -- "-$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$dir/verifier.pid"
}

case "${1:-}" in
  start) [ $# -eq 2 ] || die "usage: $0 start <dir>"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop <dir>"; stop "$2" ;;
  *) die "usage: $0 start|stop <dir>" ;;
esac
