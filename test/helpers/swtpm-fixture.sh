#!/usr/bin/env bash
# Per-test swtpm: a fresh TPM 2.0 state with RSA-2048 and ECC EKs, EK + platform certificates signed by a
# local CA whose state lives under <dir> (never shared between tests), served on free TCP ports.
#
#   swtpm-fixture.sh start <dir>    prints KEY=VALUE lines (SWTPM_PORT, SWTPM_CTRL_PORT, SWTPM_PID,
#                                   SWTPM_CA_ROOT, SWTPM_CA_ISSUER, SWTPM_TCTI, SWTPM_STATE, SWTPM_DIR)
#   swtpm-fixture.sh restart <dir>  stops swtpm and starts it again on the same ports and state
#   swtpm-fixture.sh stop <dir>     kills the swtpm started for <dir> (by its pid file)
#   swtpm-fixture.sh serve <dir>    for a container (packaging/docker/swtpm): the same TPM, run in the
#                                   foreground on SWTPM_BIND (default 0.0.0.0) ports 2321 (data) / 2322 (ctrl)
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|restart|stop|serve <dir>" >&2
  exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
state="$dir/state"
ca="$dir/ca"
pidfile="$dir/swtpm.pid"
portfile="$dir/ports"
log="$dir/swtpm.log"

free_port_pair() {
  # An even port P such that P and P+1 are both free on 127.0.0.1.
  python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 60000, 2)
    ok = True
    socks = []
    for q in (p, p + 1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
            socks.append(s)
        except OSError:
            ok = False
            s.close()
            break
    for s in socks:
        s.close()
    if ok:
        print(p)
        break
else:
    raise SystemExit("no free port pair")
PY
}

setup_state() {
  mkdir -p "$state" "$ca"
  cat > "$dir/swtpm-localca.conf" <<CONF
statedir = $ca
signingkey = $ca/signkey.pem
issuercert = $ca/issuercert.pem
certserial = $ca/certserial
CONF
  cat > "$dir/swtpm-localca.options" <<CONF
--platform-manufacturer tpm_quote-test
--platform-version 2.1
--platform-model swtpm
CONF
  cat > "$dir/swtpm_setup.conf" <<CONF
create_certs_tool = /usr/bin/swtpm_localca
create_certs_tool_config = $dir/swtpm-localca.conf
create_certs_tool_options = $dir/swtpm-localca.options
active_pcr_banks = sha1,sha256,sha384
CONF
  swtpm_setup --tpm2 --tpmstate "$state" --config "$dir/swtpm_setup.conf" \
    --create-ek-cert --create-platform-cert --lock-nvram --overwrite \
    --logfile "$dir/swtpm_setup.log" >/dev/null 2>&1 || {
      echo "swtpm_setup failed; see $dir/swtpm_setup.log" >&2
      cat "$dir/swtpm_setup.log" >&2 || true
      exit 1
    }
}

# swtpm_args BIND PORT: sets swtpm_argv to the swtpm command serving the state on BIND:PORT (data) and
# BIND:PORT+1 (control).
swtpm_args() {
  swtpm_argv=(swtpm socket --tpm2 --tpmstate dir="$state"
    --server type=tcp,port="$2",bindaddr="$1"
    --ctrl type=tcp,port=$(($2 + 1)),bindaddr="$1"
    --flags not-need-init,startup-clear)
}

launch() {
  local port=$1
  rm -f "$pidfile"
  swtpm_args 127.0.0.1 "$port"
  "${swtpm_argv[@]}" --pid file="$pidfile" --log file="$log" --daemon
  for _ in $(seq 1 100); do
    if [[ -s "$pidfile" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "swtpm did not start listening on 127.0.0.1:$port; see $log" >&2
  exit 1
}

stop_swtpm() {
  [[ -s "$pidfile" ]] || return 0
  local pid
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.02
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

print_env() {
  local port=$1
  echo "SWTPM_DIR=$dir"
  echo "SWTPM_STATE=$state"
  echo "SWTPM_PORT=$port"
  echo "SWTPM_CTRL_PORT=$((port + 1))"
  echo "SWTPM_PID=$(cat "$pidfile")"
  echo "SWTPM_CA_ROOT=$ca/swtpm-localca-rootca-cert.pem"
  echo "SWTPM_CA_ISSUER=$ca/issuercert.pem"
  echo "SWTPM_TCTI=swtpm:host=127.0.0.1,port=$port"
}

case "$cmd" in
  start)
    stop_swtpm
    [[ -f "$state/tpm2-00.permall" ]] || setup_state
    port=$(free_port_pair)
    echo "$port" > "$portfile"
    launch "$port"
    print_env "$port"
    ;;
  restart)
    port=$(cat "$portfile")
    stop_swtpm
    launch "$port"
    print_env "$port"
    ;;
  stop)
    stop_swtpm
    ;;
  serve)
    [[ -f "$state/tpm2-00.permall" ]] || setup_state
    echo "swtpm: EK CA $ca/swtpm-localca-rootca-cert.pem, serving on ${SWTPM_BIND:-0.0.0.0}:2321" >&2
    swtpm_args "${SWTPM_BIND:-0.0.0.0}" 2321
    exec "${swtpm_argv[@]}" --log level=1
    ;;
  *)
    echo "unknown command $cmd" >&2
    exit 2
    ;;
esac
