#!/usr/bin/env bash
# Installs helm v3.22.0 from the Go module proxy into .tools/bin (git-ignored), for rendering the SPIRE
# chart with packaging/helm/values-tpm-quote.yaml by hand (docs/kubernetes.md). Nothing in `npm test`
# needs it: the chart itself is not in any registry, so CI cannot render it.
# Idempotent: reuses a helm that already reports the wanted version.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=v3.22.0
bin="$root/.tools/bin"
if [ -x "$bin/helm" ] && [ "$("$bin/helm" version --template '{{.Version}}' 2>/dev/null)" = "$version" ]; then
  echo "helm $version already in $bin"
  exit 0
fi
command -v go >/dev/null || { echo "install-helm: Go is required (go.dev toolchain on PATH)" >&2; exit 1; }
mkdir -p "$bin"
cd "$root/tools/helm"
# Like tools/spire: the proxy refuses `go install pkg@version` outside a module, so a tools module pins helm.
if ! grep -q "helm.sh/helm/v3 $version" go.mod 2>/dev/null; then
  go get -tool "helm.sh/helm/v3/cmd/helm@$version"
fi
# helm's release builds stamp the version with -ldflags; do the same so `helm version` tells the truth.
GOBIN="$bin" go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$version" helm.sh/helm/v3/cmd/helm
"$bin/helm" version --template '{{.Version}}'; echo
