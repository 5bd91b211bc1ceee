#!/usr/bin/env bash
# Brings SPIRE v1.13.3's source (its Makefile, Dockerfile and integration harness test/integration) from the Go
# module proxy into .harness/spire, a git work tree tagged v1.13.3 (upstream's test-one.sh asks git for the
# repository root; its Makefile takes the version from the tag). Never committed (.harness/ is git-ignored).
# Then builds the static spire-server and spire-agent the way upstream's image build does (`make build-static`
# rules: CGO, musl, -extldflags -static), into .harness/spire/bin/static.
# Idempotent: the work tree is kept while it holds the module's hash; the binaries while they report the version.
# Environment: GOTOOLCHAIN is set to go1.25.3 (the Makefile's .go-version; the go command fetches it through
# the module proxy, else the Makefile tries to download Go itself).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=v1.13.3
dest="$root/.harness/spire"
export GOTOOLCHAIN=go1.25.3
command -v go >/dev/null || { echo "install-spire-source: Go is required" >&2; exit 1; }
command -v musl-gcc >/dev/null || { echo "install-spire-source: musl-gcc missing: run scripts/install-docker.sh" >&2; exit 1; }

info=$(GOFLAGS=-mod=mod go mod download -json "github.com/spiffe/spire@$version")
dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
[ -d "$dir" ] && [ -n "$sum" ] || { echo "install-spire-source: go mod download gave no Dir/Sum for spire $version" >&2; exit 1; }

stamp="$sum, modes restored"
if [ "$(cat "$dest/.git/tpmq-module-sum" 2>/dev/null)" = "$stamp" ]; then
  echo "SPIRE $version source present in $dest"
else
  # Static binaries built from an earlier copy of the same version are kept (their build is the slow part).
  keep=$(mktemp -d "${TMPDIR:-/tmp}/spire-static.XXXXXX")
  if [ -d "$dest/bin/static" ]; then mv "$dest/bin/static" "$keep/"; fi
  rm -rf "$dest"
  mkdir -p "$dest"
  cp -R "$dir"/. "$dest"
  if [ -d "$keep/static" ]; then mkdir -p "$dest/bin" && mv "$keep/static" "$dest/bin/"; fi
  rmdir "$keep"
  chmod -R u+w "$dest"
  (
    cd "$dest"
    # Module zips keep no file modes; upstream's runner insists on executable steps and teardowns, and runs
    # its setup scripts directly. Executable = what starts with "#!", plus every suite's steps and teardown.
    find . -type f -size -1024k -print0 | while IFS= read -r -d '' f; do
      [ "$(head -c 2 "$f")" != '#!' ] || chmod +x "$f"
    done
    find test/integration/suites* -type f \( -name '[0-9][0-9]-*' -o -name teardown \) -exec chmod +x {} +
    git init -q
    git add -A
    git -c user.name=tpm_quote -c user.email=tpm_quote@localhost commit -q -m "SPIRE $version from the Go module proxy ($sum)"
    git tag "$version"
  )
  echo "$stamp" >"$dest/.git/tpmq-module-sum"
  echo "SPIRE $version source in $dest"
fi

want=${version#v}
fresh() { [ -x "$dest/bin/static/$1" ] && [[ $("$dest/bin/static/$1" --version 2>&1) == "$want"* ]]; }
if fresh spire-server && fresh spire-agent; then
  echo "static spire-server and spire-agent $version present"
  exit 0
fi
# Upstream's own rules (bin/static/%), without its `tidy` prerequisite, which would rewrite go.sum and make
# the tree dirty (the version stamp is left out of dirty builds). CC: Debian's musl wrapper, as Alpine's gcc
# is musl in upstream's builder image.
echo "building static spire-server and spire-agent $version"
make -C "$dest" CC=musl-gcc bin/static/spire-server bin/static/spire-agent
for b in spire-server spire-agent; do
  file "$dest/bin/static/$b" 2>/dev/null | grep -q 'statically linked' ||
    ldd "$dest/bin/static/$b" 2>&1 | grep -q 'not a dynamic executable' ||
    { echo "install-spire-source: $dest/bin/static/$b is not static" >&2; exit 1; }
  fresh "$b" || { echo "install-spire-source: $dest/bin/static/$b does not report $want" >&2; exit 1; }
done
echo "static binaries: $(du -h "$dest"/bin/static/spire-server "$dest"/bin/static/spire-agent | tr '\n' ' ')"
