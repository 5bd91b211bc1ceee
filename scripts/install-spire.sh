#!/usr/bin/env bash
# Installs spire-server and spire-agent v1.13.3 from the Go module proxy into .tools/bin (git-ignored).
# Idempotent: reuses binaries that already report the wanted version.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=v1.13.3
bin="$root/.tools/bin"
want="${version#v}"
# (Output captured first: with pipefail, `| grep -q` could fail the check through SIGPIPE.)
have() {
  local v
  [ -x "$bin/$1" ] && v=$("$bin/$1" --version 2>&1) && [[ $v == *"$want"* ]]
}
if have spire-server && have spire-agent; then
  echo "spire $version already in $bin"
  exit 0
fi
. "$root/scripts/lib/go-tools.sh"
pkgs=(github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent)
go_tool_pin "$root/tools/spire" github.com/spiffe/spire "$version" "${pkgs[@]}"
go_tool_install "$root/tools/spire" "$bin" "" "${pkgs[@]}"
"$bin/spire-server" --version
