#!/usr/bin/env bash
# Installs swtpm, swtpm-tools and tpm2-tools from Debian when missing.
set -euo pipefail
missing=()
command -v swtpm >/dev/null || missing+=(swtpm)
command -v swtpm_setup >/dev/null || missing+=(swtpm-tools)
command -v tpm2_quote >/dev/null || missing+=(tpm2-tools)
if [ ${#missing[@]} -eq 0 ]; then echo "swtpm and tpm2-tools present"; exit 0; fi
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
