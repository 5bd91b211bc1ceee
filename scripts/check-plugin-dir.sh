#!/usr/bin/env bash
# Shows dist/tpm_quote/ is self-contained: each executable, copied with the directory alone into an empty
# root filesystem (plus an empty /tmp) and run there under chroot, as root and as uid 1000 (SPIRE server
# image's user), prints a go-plugin handshake line with its socket under /tmp; the same on this host with
# no node on PATH (env -i PATH=/nonexistent). In the chroot nothing is written outside /tmp, and the
# plugin removes its socket when stopped. Needs root (chroot). Prints each handshake line.
#
#   bash scripts/check-plugin-dir.sh [DIR]      DIR defaults to dist/tpm_quote
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$root/dist/tpm_quote}
[ -x "$src/tpm-quote-agent" ] && [ -x "$src/tpm-quote-server" ] || { echo "check-plugin-dir: $src incomplete: run npm run build" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tpmq-plugin-dir.XXXXXX")
trap 'rm -rf "$work"' EXIT
chroot_cmd=$(command -v chroot) || { echo "check-plugin-dir: chroot (coreutils) missing" >&2; exit 2; }
cookie=(NodeAttestor=NodeAttestor PLUGIN_PROTOCOL_VERSIONS=1 PLUGIN_MIN_PORT=10000 PLUGIN_MAX_PORT=25000)

# handshake LABEL CMD...: runs CMD (stdin /dev/null), waits up to 60 s for its first stdout line, stops it
# with SIGTERM, and succeeds when that line is a go-plugin handshake on a unix socket under /tmp.
handshake() {
  local label=$1 out=$work/stdout err=$work/stderr line="" pid
  shift
  "$@" </dev/null >"$out" 2>"$err" &
  pid=$!
  for _ in $(seq 600); do
    if [ "$(wc -l <"$out")" -ge 1 ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  line=$(head -n 1 "$out")
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || true
  if [[ $line =~ ^1\|1\|unix\|/tmp/[^\|]+\|grpc$ ]]; then
    echo "ok    $label: $line"
  else
    echo "FAIL  $label: first stdout line ${line@Q}; stderr:"
    cat "$err"
    return 1
  fi
}

# An empty root with the plugin directory where the SPIRE images keep plugins.
chroot_dir=$work/root
mkdir -p "$chroot_dir/opt/spire/plugins" "$chroot_dir/tmp"
chmod 1777 "$chroot_dir/tmp"
cp -a "$src" "$chroot_dir/opt/spire/plugins/tpm_quote"
touch "$work/before"
sleep 0.01
status=0
for exe in tpm-quote-agent tpm-quote-server; do
  for user in 0:0 1000:1000; do
    handshake "chroot (uid ${user%%:*}) /opt/spire/plugins/tpm_quote/$exe" \
      env -i "${cookie[@]}" "$chroot_cmd" --userspec="$user" "$chroot_dir" "/opt/spire/plugins/tpm_quote/$exe" || status=1
  done
  handshake "host, PATH=/nonexistent: $src/$exe" env -i PATH=/nonexistent "${cookie[@]}" "$src/$exe" || status=1
done
written=$(find "$chroot_dir" -path "$chroot_dir/tmp" -prune -o -newer "$work/before" -print)
if [ -n "$written" ]; then echo "FAIL  written outside /tmp in the chroot: $written"; status=1; fi
left=$(find "$chroot_dir/tmp" -mindepth 1)
if [ -n "$left" ]; then echo "FAIL  left in the chroot's /tmp after SIGTERM: $left"; status=1; fi
[ "$status" -eq 0 ] && echo "ok    nothing written outside /tmp; /tmp empty again after each plugin stopped"
exit "$status"
