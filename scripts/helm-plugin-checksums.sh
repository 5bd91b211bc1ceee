#!/usr/bin/env bash
# The plugin_checksum values for packaging/helm/values-tpm-quote.yaml: hex SHA-256 of tpm-quote-server and
# tpm-quote-agent in the plugin directory the plugin image was built from. The values file carries no
# checksum (it changes with every build), so the chart refuses to render until these are given.
#
#   scripts/helm-plugin-checksums.sh [--dir DIR]                    prints helm --set flags (one line)
#   scripts/helm-plugin-checksums.sh [--dir DIR] --values-out FILE  writes them as a values overlay instead
#
# DIR defaults to dist/tpm_quote (from `npm run build`); for a pushed image, copy its
# /opt/spire/plugins/tpm_quote out (docker create + docker cp) and name that copy.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/dist/tpm_quote"
out=
while [ $# -gt 0 ]; do
  case $1 in
    --dir) dir=${2:?--dir needs a directory}; shift 2 ;;
    --values-out) out=${2:?--values-out needs a file}; shift 2 ;;
    *) echo "helm-plugin-checksums: unknown argument $1" >&2; exit 2 ;;
  esac
done

# Chart subchart (values key) -> executable its tpm_quote plugin_cmd runs.
declare -A exe=([spire-server]=tpm-quote-server [spire-agent]=tpm-quote-agent)
declare -A sum
for chart in spire-server spire-agent; do
  file="$dir/${exe[$chart]}"
  [ -f "$file" ] || { echo "helm-plugin-checksums: $file missing (run npm run build, or pass --dir)" >&2; exit 1; }
  sum[$chart]=$(sha256sum "$file" | cut -d' ' -f1)
done

if [ -z "$out" ]; then
  for chart in spire-server spire-agent; do
    printf -- '--set %s.customPlugins.nodeAttestor.tpm_quote.plugin_checksum=%s ' "$chart" "${sum[$chart]}"
  done
  echo
else
  {
    echo "# Written by scripts/helm-plugin-checksums.sh from $dir"
    for chart in spire-server spire-agent; do
      printf '%s:\n  customPlugins:\n    nodeAttestor:\n      tpm_quote:\n        plugin_checksum: "%s"\n' "$chart" "${sum[$chart]}"
    done
  } >"$out"
  echo "wrote $out"
fi
