#!/usr/bin/env bash
# Prints the plugin_checksum (hex SHA-256 of the plugin_cmd file) of each plugin executable in DIR,
# by default the self-contained plugin directory dist/tpm_quote/ (what the README installs; each
# executable pins lib/ and its code, so these two values pin the whole directory). `dist` gives the
# bundles run by the host's node.
#
#   bash scripts/checksums.sh [DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir=${1:-$root/dist/tpm_quote}
for name in tpm-quote-agent tpm-quote-server; do
  file="$dir/$name"
  [[ -f "$file" ]] || { echo "checksums: $file missing; run npm run build" >&2; exit 1; }
  printf '%s plugin_checksum = "%s"\n' "$name" "$(sha256sum "$file" | cut -d' ' -f1)"
done
