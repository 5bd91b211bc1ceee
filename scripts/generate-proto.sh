#!/usr/bin/env bash
# Regenerates proto/gen (TypeScript, protobuf-es v2) from proto/**/*.proto with buf
# and the local protoc-gen-es, then proto/gen/services.ts, the services' method table
# (scripts/generate-service-table.mjs).
#   scripts/generate-proto.sh          rewrite proto/gen
#   scripts/generate-proto.sh --check  fail (exit 1) when the committed proto/gen is stale
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
buf="$root/node_modules/.bin/buf"
[[ -x "$buf" ]] || { echo "generate-proto: $buf missing; run npm ci" >&2; exit 2; }

case "${1:-}" in
  "")
    (cd "$root/proto" && "$buf" generate)
    node "$root/scripts/generate-service-table.mjs" "$root/proto/gen"
    echo "generate-proto: proto/gen regenerated" >&2
    ;;
  --check)
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    (cd "$root/proto" && "$buf" generate --output "$tmp")
    node "$root/scripts/generate-service-table.mjs" "$tmp/gen" 2>/dev/null
    if ! diff -r "$tmp/gen" "$root/proto/gen" >"$tmp/diff.txt"; then
      echo "generate-proto: proto/gen is stale; run scripts/generate-proto.sh and commit the result" >&2
      head -n 60 "$tmp/diff.txt" >&2
      exit 1
    fi
    echo "generate-proto: proto/gen is up to date" >&2
    ;;
  *)
    echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
