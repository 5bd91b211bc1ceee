#!/usr/bin/env bash
# Prints the plugin_checksum (hex SHA-256 of the plugin_cmd file) of each built plugin.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for name in tpm-quote-agent tpm-quote-server; do
  file="$root/dist/$name"
  [[ -f "$file" ]] || { echo "checksums: $file missing; run npm run build" >&2; exit 1; }
  printf '%s plugin_checksum = "%s"\n' "$name" "$(sha256sum "$file" | cut -d' ' -f1)"
done
