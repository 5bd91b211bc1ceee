#!/usr/bin/env bash
# Remakes the binary vectors in this folder from a fresh swtpm with tpm2-tools (see README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixture="$here/../../../../helpers/swtpm-fixture.sh"
work=$(mktemp -d)
trap 'bash "$fixture" stop "$work/tpm"; rm -rf "$work"' EXIT
eval "$(bash "$fixture" start "$work/tpm" | sed 's/^/export /')"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
cd "$work"
tpm2_readpublic -c 0x81010001 -o "$here/ek-rsa2048.tpm2b_public" >/dev/null
tpm2_readpublic -c 0x81010016 -o "$here/ek-eccp384.tpm2b_public" >/dev/null
tpm2_createek -c ek.ctx -G rsa -u ek.pub >/dev/null
flush() { tpm2_flushcontext -t; tpm2_flushcontext -s; tpm2_flushcontext -l; }
flush
tpm2_createak -C ek.ctx -c ak.ctx -G rsa -g sha256 -s rsassa -u "$here/ak-rsa.tpm2b_public" -n ak.name >/dev/null
flush
tpm2_quote -c ak.ctx -l sha256:0,1,2,3,4,5,6,7,8,9,10 -q 0011223344556677 -m "$here/quote-rsa.tpms_attest" \
  -s "$here/quote-rsa.tpmt_signature" -g sha256 >/dev/null
flush
tpm2_createak -C ek.ctx -c akecc.ctx -G ecc -g sha256 -s ecdsa -u "$here/ak-ecc.tpm2b_public" -n akecc.name >/dev/null
flush
tpm2_quote -c akecc.ctx -l sha1:0,1+sha256:16,23 -q aabbccdd -m "$here/quote-ecc.tpms_attest" \
  -s "$here/quote-ecc.tpmt_signature" -g sha256 >/dev/null
flush
tpm2_nvreadpublic 0x01c00002 >/dev/null
echo "vectors written to $here"
