#!/usr/bin/env bash
# Installs swtpm, swtpm-tools and tpm2-tools (with the swtpm TCTI the tests give tpm2-tools) from Debian, and the
# small tools the suites call (openssl, curl, sqlite3), when missing.
set -euo pipefail
missing=()
command -v swtpm >/dev/null || missing+=(swtpm)
command -v swtpm_setup >/dev/null || missing+=(swtpm-tools)
command -v tpm2_quote >/dev/null || missing+=(tpm2-tools)
dpkg -s libtss2-tcti-swtpm0 >/dev/null 2>&1 || missing+=(libtss2-tcti-swtpm0)
for tool in openssl curl sqlite3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -eq 0 ]; then echo "swtpm and tpm2-tools present"; exit 0; fi
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
