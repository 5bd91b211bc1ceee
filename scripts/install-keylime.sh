#!/usr/bin/env bash
# Installs Keylime 7.14.3 from PyPI into .tools/keylime-venv (git-ignored), plus what its verifier needs at
# run time: Debian's python3-gpg (the `gpg` module), libefivar1 (its measured-boot log parser) and tpm2-tools
# on PATH. Idempotent: a venv whose keylime already reports the wanted version and imports `gpg` is reused.
#
# Debian's python3-gpg is built for Debian's /usr/bin/python3, not for a pyenv python that may come first on
# PATH, so the venv is made from /usr/bin/python3 with --system-site-packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=7.14.3
venv="$root/.tools/keylime-venv"
py=/usr/bin/python3

check() {
  [ -x "$venv/bin/python" ] || return 1
  "$venv/bin/python" - "$version" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
assert version("keylime") == sys.argv[1], version("keylime")
import gpg  # noqa: F401  (Debian python3-gpg through --system-site-packages)
import keylime.cmd.verifier  # noqa: F401
EOF
}

SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {
  if [ $apt_updated -eq 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  echo "install-keylime: installed from Debian: $*"
}

missing=()
[ -x "$py" ] || missing+=(python3)
command -v tpm2_startup >/dev/null || missing+=(tpm2-tools)
dpkg -s python3-gpg >/dev/null 2>&1 || missing+=(python3-gpg)
dpkg -s python3-venv >/dev/null 2>&1 || missing+=(python3-venv)
# Keylime's measured-boot log parser loads libefivar.so.1 (ctypes) to decode device paths and GUIDs.
dpkg -s libefivar1 >/dev/null 2>&1 || missing+=(libefivar1)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

"$py" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' ||
  { echo "install-keylime: Keylime needs Python >= 3.10 at $py" >&2; exit 1; }
"$py" -c 'import gpg' || { echo "install-keylime: 'import gpg' fails with $py after installing python3-gpg" >&2; exit 1; }

if check; then
  echo "keylime $version already in $venv"
else
  if [ -d "$venv" ] && ! "$venv/bin/python" -c 'import gpg' >/dev/null 2>&1; then
    # A venv made from another interpreter (or without system site packages) cannot see python3-gpg.
    rm -rf "$venv"
  fi
  mkdir -p "$root/.tools"
  [ -x "$venv/bin/python" ] || "$py" -m venv --system-site-packages "$venv"
  # Keep pip's own packages from the venv, not Debian's (Debian's pip refuses some upgrades).
  "$venv/bin/python" -m pip install -q --upgrade pip
  # The keylime wheel on PyPI declares no dependencies; these are its requirements.txt at v7.14.3
  # (gpg is the Debian package above: its bindings must match the system's GnuPG).
  "$venv/bin/python" -m pip install -q "keylime==$version" \
    'cryptography>=3.3.2' 'tornado>=5.0.2' 'pyzmq>=14.4' 'pyyaml>=3.11' 'requests>=2.6' \
    'sqlalchemy>=2.0.39' 'alembic>=1.1.0' 'packaging>=20.0' 'psutil>=5.4.2' 'lark>=1.0.0' \
    'pyasn1>=0.4.2' 'pyasn1-modules>=0.2.5' 'jinja2>=3.0.0' 'jsonschema>=2.6.0'
  check || {
    echo "install-keylime: keylime $version installed but its import (or 'import gpg') fails:" >&2
    "$venv/bin/python" -c 'import gpg, keylime.cmd.verifier' >&2 || true
    exit 1
  }
  echo "installed keylime $version in $venv"
fi
[ -x "$venv/bin/keylime_verifier" ] || { echo "install-keylime: $venv/bin/keylime_verifier missing" >&2; exit 1; }
