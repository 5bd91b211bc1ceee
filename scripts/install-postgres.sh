#!/usr/bin/env bash
# Installs Debian's PostgreSQL server (the SQL datastore two spire-servers share in the HA suite and the
# node benchmark), when missing. Only the binaries are needed: every test runs its own throw-away cluster
# (scripts/lib/pg-cluster.sh), so the packaged "main" cluster is neither needed nor used.
set -euo pipefail
bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -n "$(bindir)" ] && [ -x "$(bindir)/initdb" ] && [ -x "$(bindir)/pg_ctl" ] && command -v psql >/dev/null; then
  echo "postgresql present ($(bindir))"
  exit 0
fi
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# No packaged cluster: tests make their own (the setting is read by postgresql-common when it installs).
$SUDO mkdir -p /etc/postgresql-common
[ -f /etc/postgresql-common/createcluster.conf ] ||
  echo 'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null
[ -x "$(bindir)/initdb" ] || { echo "install-postgres: no initdb under /usr/lib/postgresql/*/bin after install" >&2; exit 1; }
echo "installed postgresql ($(bindir))"
