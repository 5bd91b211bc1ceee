#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for one test run: its own data directory, TCP on 127.0.0.1 only (a free
# port), its unix socket in its own directory, trust authentication (loopback, test data only), and one
# database `spire`.
#
#   pg-cluster.sh start DIR   prints PG_PORT, PG_PID, PG_DATA, PG_CONN (a SPIRE connection_string)
#   pg-cluster.sh stop DIR    stops it (fast shutdown, then SIGKILL) and removes its data
#
# DIR keeps the records (port, data path, log). PostgreSQL refuses to run as root, so when run as root the
# cluster runs as the `postgres` user (created by Debian's package) in a directory of its own under
# ${TMPDIR:-/tmp}, since the caller's temp dirs are usually private to root.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] && [ -x "$bin/pg_ctl" ] || { echo "pg-cluster: no PostgreSQL under /usr/lib/postgresql: run scripts/install-postgres.sh" >&2; exit 1; }

as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop() {
  [ -s "$dir/pgdata" ] || return 0
  local data pid
  data=$(cat "$dir/pgdata")
  if [ -s "$data/postmaster.pid" ]; then
    pid=$(head -n 1 "$data/postmaster.pid")
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 20 stop >/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  fi
  rm -rf "$(dirname "$data")"
  rm -f "$dir/pgdata"
}

case $cmd in
  start)
    stop
    base=$(mktemp -d "${TMPDIR:-/tmp}/tpmq-pg.XXXXXX")
    chmod 0755 "$base"
    mkdir -p "$base/data" "$base/run"
    [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$base"
    echo "$base/data" >"$dir/pgdata"
    port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})')
    as_owner "$bin/initdb" -D "$base/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; echo "pg-cluster: initdb failed" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$base/data" -l "$base/run/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $base/run -c max_connections=300 -c fsync=off" start >/dev/null ||
      { cat "$base/run/postgres.log" >&2; echo "pg-cluster: pg_ctl start failed" >&2; exit 1; }
    ln -sf "$base/run/postgres.log" "$dir/postgres.log"
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres spire
    echo "PG_PORT=$port"
    echo "PG_PID=$(head -n 1 "$base/data/postmaster.pid")"
    echo "PG_DATA=$base/data"
    echo "PG_CONN=dbname=spire user=postgres host=127.0.0.1 port=$port sslmode=disable"
    ;;
  stop) stop ;;
  *) echo "pg-cluster: unknown command $cmd" >&2; exit 2 ;;
esac
