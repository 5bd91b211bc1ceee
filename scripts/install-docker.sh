#!/usr/bin/env bash
# Installs what the container tests need, when missing, and leaves a running Docker engine behind:
#   Debian's engine     docker.io containerd runc iptables (--no-install-recommends); dockerd is started
#                       in the background (overlay2, log in /var/log/tpmq-dockerd.log) when not running
#   image build tools   debootstrap (the Debian base of the swtpm image), busybox-static (the plugin
#                       image's copier), musl-tools (SPIRE's static build links musl, as upstream's does)
#   docker compose v2   built from its Go module (not packaged in bookworm; `go install mod@version` is
#                       refused because its go.mod has exclude directives), installed as a CLI plugin in
#                       $DOCKER_CONFIG/cli-plugins (default ~/.docker) and reused while it reports the version
# Idempotent. Options: --engine-only (skip compose), --compose-only (skip apt and dockerd).
set -euo pipefail
compose_version=v2.40.3
engine=1
compose=1
for arg in "$@"; do
  case $arg in
    --engine-only) compose= ;;
    --compose-only) engine= ;;
    *) echo "install-docker: unknown option $arg" >&2; exit 2 ;;
  esac
done
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo

install_packages() {
  local missing=() pkg
  for pkg in docker.io containerd runc iptables debootstrap busybox-static musl-tools file; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then echo "docker.io and image build tools present"; return 0; fi
  export DEBIAN_FRONTEND=noninteractive
  # Other install scripts may run apt at the same time (scripts/test.sh runs installs side by side).
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "installed: ${missing[*]}"
}

start_dockerd() {
  if docker info >/dev/null 2>&1; then echo "dockerd running"; return 0; fi
  local log=/var/log/tpmq-dockerd.log
  # setsid: the daemon must outlive this script and the test run's process group.
  $SUDO setsid dockerd --storage-driver=overlay2 </dev/null >>"$log" 2>&1 &
  for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then echo "dockerd started (log $log)"; return 0; fi
    sleep 0.5
  done
  tail -n 30 "$log" >&2
  echo "install-docker: dockerd did not answer within 60 s (log $log)" >&2
  return 1
}

install_compose() {
  local plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins" have
  have=$(docker compose version --short 2>/dev/null) || have=
  if [ "v${have#v}" = "$compose_version" ]; then echo "docker compose $compose_version present"; return 0; fi
  command -v go >/dev/null || { echo "install-docker: Go is required to build docker compose" >&2; return 1; }
  local dir src
  dir=$(go mod download -json "github.com/docker/compose/v2@$compose_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { echo "install-docker: go mod download gave no Dir for compose $compose_version" >&2; return 1; }
  # The module cache is read-only: build in a writable copy.
  src=$(mktemp -d "${TMPDIR:-/tmp}/compose-src.XXXXXX")
  cp -R "$dir"/. "$src"
  chmod -R u+w "$src"
  mkdir -p "$plugins"
  echo "building docker compose $compose_version (a few minutes)"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$compose_version" \
    -o "$plugins/docker-compose.new" ./cmd)
  mv "$plugins/docker-compose.new" "$plugins/docker-compose"
  rm -rf "$src"
  docker compose version
}

if [ -n "$engine" ]; then
  install_packages
  start_dockerd
fi
if [ -n "$compose" ]; then install_compose; fi
