#!/usr/bin/env bash
# One entry point for everything the tests need that is not in the repository. Idempotent: each part
# checks what is already there and installs only what is missing.
#   npm packages   npm ci, when node_modules is absent or older than package-lock.json
#   SPIRE          spire-server + spire-agent v1.13.3 into .tools/bin   (scripts/install-spire.sh)
#   TPM tools      swtpm, swtpm-tools, tpm2-tools from Debian            (scripts/install-tpm-tools.sh)
#   PostgreSQL     Debian's postgresql (HA suite, node benchmark)       (scripts/install-postgres.sh)
#   Keylime        the Keylime verifier                                  (scripts/install-keylime.sh, once it exists)
# Options: --skip-spire (the caller installs SPIRE itself, e.g. in the background).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
skip_spire=
for arg in "$@"; do
  case $arg in
    --skip-spire) skip_spire=1 ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

# npm: the stamp holds the SHA-256 of the package-lock.json node_modules was installed from.
stamp=node_modules/.installed-from-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "node_modules up to date"
else
  echo "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

bash scripts/install-tpm-tools.sh
bash scripts/install-postgres.sh
if [ -f scripts/install-keylime.sh ]; then bash scripts/install-keylime.sh; fi
if [ -z "$skip_spire" ]; then bash scripts/install-spire.sh; fi
