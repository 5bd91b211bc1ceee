#!/usr/bin/env bash
# Builds the container images the harness suites (test/upstream-suites) run, all locally (no registry is
# reachable), from the Dockerfiles in packaging/docker:
#   spire-server:latest-local, spire-agent:latest-local   SPIRE v1.13.3 as upstream builds its images
#                                                          (static binaries from scripts/install-spire-source.sh)
#   tpm-quote-plugin:latest-local                          dist/tpm_quote/ + a static copier (init container)
#   spire-server-tpm-quote:latest-local                    "official image + tpm_quote" over spire-server:latest-local
#   tpm-quote-debian:bookworm                              debootstrap minbase rootfs, docker import
#   tpm-quote-swtpm:latest-local                           swtpm from Debian over that base
# Each image carries a label with the hash of its inputs; an image whose label matches is not rebuilt.
# Needs: a running dockerd and the image build tools (scripts/install-docker.sh), the static SPIRE binaries
# (scripts/install-spire-source.sh), dist/tpm_quote/ (npm run build).
# Options: --base-only (only the Debian base and the swtpm image: what needs neither SPIRE nor dist/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
pkg=packaging/docker
stage="$root/.harness/images"
label=org.tpm-quote.inputs
export DOCKER_BUILDKIT=0 # Debian's engine has no buildx here: the legacy builder, said out loud
base_only=
for arg in "$@"; do
  case $arg in
    --base-only) base_only=1 ;;
    *) echo "build-images: unknown option $arg" >&2; exit 2 ;;
  esac
done
docker info >/dev/null 2>&1 || { echo "build-images: no Docker engine: run scripts/install-docker.sh" >&2; exit 1; }

# hash-inputs PATH...: one hash over the names, modes and contents of every file under the PATHs.
hash-inputs() {
  local p
  for p in "$@"; do
    find "$p" -printf '%p %m %y\n' | LC_ALL=C sort
    find "$p" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  done | sha256sum | cut -c1-32
}
image-id() { docker image inspect -f '{{.Id}}' "$1"; }
up-to-date() { [ "$(docker image inspect -f "{{index .Config.Labels \"$label\"}}" "$1" 2>/dev/null)" = "$2" ]; }

# build TAG KEY DOCKER_BUILD_ARGS...: docker build unless TAG already carries KEY.
build() {
  local tag=$1 key=$2 t0=$SECONDS
  shift 2
  if up-to-date "$tag" "$key"; then echo "image $tag up to date"; return 0; fi
  echo "building image $tag"
  # (Output kept for failures only: the legacy builder's deprecation notice is noise otherwise.)
  docker build -q --label "$label=$key" -t "$tag" "$@" >"$stage/build.log" 2>&1 || { cat "$stage/build.log" >&2; return 1; }
  echo "built $tag in $((SECONDS - t0)) s ($(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec) )"
}

# A fresh, empty staging directory for one build context.
context() { rm -rf "${stage:?}/$1"; mkdir -p "$stage/$1"; echo "$stage/$1"; }

debian_base() {
  local tag=tpm-quote-debian:bookworm mirror key t0=$SECONDS dir
  # The host's own Debian mirror (the registry the machine already uses).
  mirror=$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  key="debootstrap --variant=minbase bookworm $mirror"
  if up-to-date "$tag" "$key"; then echo "image $tag up to date"; return 0; fi
  echo "building image $tag (debootstrap)"
  dir=$(context debian)/rootfs
  debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$stage/debian/debootstrap.log" 2>&1 ||
    { tail -n 20 "$stage/debian/debootstrap.log" >&2; return 1; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import --change "LABEL $label=\"$key\"" - "$tag" >/dev/null
  rm -rf "$stage/debian"
  echo "built $tag in $((SECONDS - t0)) s"
}

swtpm_image() {
  local ctx
  ctx=$(context swtpm)
  cp test/helpers/swtpm-fixture.sh "$ctx/"
  cp "$pkg/swtpm/Dockerfile" "$ctx/"
  build tpm-quote-swtpm:latest-local "$(hash-inputs "$ctx")-$(image-id tpm-quote-debian:bookworm)" "$ctx"
}

spire_images() {
  local bin="$root/.harness/spire/bin/static" ctx key target
  for b in spire-server spire-agent; do
    [ -x "$bin/$b" ] || { echo "build-images: $bin/$b missing: run scripts/install-spire-source.sh" >&2; return 1; }
  done
  ctx=$(context spire)
  mkdir -p "$ctx/bin"
  cp "$bin/spire-server" "$bin/spire-agent" "$ctx/bin/"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
  # The directories upstream's prep stages create.
  mkdir -p "$ctx"/server-root/{opt/spire/bin,etc/spire/server,run/spire/server/private,tmp/spire-server/private,var/lib/spire/server}
  mkdir -p "$ctx"/agent-root/{opt/spire/bin,etc/spire/agent,run/spire/agent/public,tmp/spire-agent/public,var/lib/spire/agent}
  chmod -R 755 "$ctx"
  cp "$pkg/spire/Dockerfile" "$ctx/"
  key=$(hash-inputs "$ctx")
  for target in spire-server spire-agent; do
    build "$target:latest-local" "$key" --target "$target" "$ctx"
  done
}

plugin_images() {
  local ctx
  [ -x dist/tpm_quote/tpm-quote-agent ] && [ -x dist/tpm_quote/tpm-quote-server ] ||
    { echo "build-images: dist/tpm_quote/ missing: npm run build" >&2; return 1; }
  ctx=$(context plugin)
  cp -a dist/tpm_quote "$ctx/tpm_quote"
  cp /bin/busybox "$ctx/busybox"
  file -L "$ctx/busybox" | grep -q 'statically linked' || { echo "build-images: /bin/busybox is not static (busybox-static)" >&2; return 1; }
  cp "$pkg/plugin/Dockerfile" "$ctx/"
  build tpm-quote-plugin:latest-local "$(hash-inputs "$ctx")" "$ctx"
  ctx=$(context spire-with-plugin)
  cp "$pkg/spire-with-plugin/Dockerfile" "$ctx/"
  build spire-server-tpm-quote:latest-local \
    "$(hash-inputs "$ctx")-$(image-id tpm-quote-plugin:latest-local)-$(image-id spire-server:latest-local)" \
    --build-arg SPIRE_IMAGE=spire-server:latest-local --build-arg PLUGIN_IMAGE=tpm-quote-plugin:latest-local "$ctx"
}

mkdir -p "$stage"
trap 'docker image prune -f --filter "label=$label" >/dev/null 2>&1 || true' EXIT # images a rebuild replaced
debian_base
swtpm_image
if [ -z "$base_only" ]; then
  spire_images
  plugin_images
fi
