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
command -v go >/dev/null || { echo "install-spire: Go is required (go.dev toolchain on PATH)" >&2; exit 1; }
mkdir -p "$bin"
cd "$root/tools/spire"
# The proxy here refuses `go install pkg@version` outside a module, so the tools module pins SPIRE.
if ! grep -q "github.com/spiffe/spire $version" go.mod 2>/dev/null; then
  go get -tool "github.com/spiffe/spire/cmd/spire-server@$version" "github.com/spiffe/spire/cmd/spire-agent@$version"
fi
GOBIN="$bin" go install github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent
"$bin/spire-server" --version
