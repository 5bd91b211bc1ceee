#!/usr/bin/env bash
# Installs helm v3.22.0 from the Go module proxy into .tools/bin (git-ignored), for rendering the SPIRE
# chart with packaging/helm/values-tpm-quote.yaml by hand (docs/kubernetes.md). Nothing in `npm test`
# needs it: the chart itself is not in any registry, so CI cannot render it.
# Idempotent: reuses a helm that already reports the wanted version.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=v3.22.0
bin="$root/.tools/bin"
# (A helm built without the Kubernetes version stamp below claims Kubernetes v1.20 and refuses charts that
# need newer, as the SPIRE chart does: such a binary is rebuilt.)
if [ -x "$bin/helm" ] && [ "$("$bin/helm" version --template '{{.Version}}' 2>/dev/null)" = "$version" ] &&
  [[ $(go version -m "$bin/helm" 2>/dev/null) == *chartutil.k8sVersionMinor=* ]]; then
  echo "helm $version already in $bin"
  exit 0
fi
. "$root/scripts/lib/go-tools.sh"
go_tool_pin "$root/tools/helm" helm.sh/helm/v3 "$version" helm.sh/helm/v3/cmd/helm
# Stamp what helm's own Makefile stamps with -ldflags: its version, and the Kubernetes version it assumes
# (`helm template` checks charts' kubeVersion against it): 1.N for the k8s.io/client-go v0.N it is built with.
k8s_minor=$(cd "$root/tools/helm" && go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
ldflags="-X helm.sh/helm/v3/internal/version.version=$version"
for pkg in chartutil lint/rules; do
  ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$k8s_minor"
done
go_tool_install "$root/tools/helm" "$bin" "$ldflags" helm.sh/helm/v3/cmd/helm
"$bin/helm" version --template '{{.Version}}'; echo
