# Sourced by this suite's steps: the refusal helpers of tpm-quote-refusals (expect-refused, server-with,
# fresh-agent) and boot-server.
# shellcheck disable=SC1091
source "$REPODIR/test/integration/suites/tpm-quote-refusals/refusal.sh"

# boot-server POLICY_FILE: (re)start spire-server with event_log = "required", the PCRs the boot facts live in
# quoted (sha256 0-9 and 14: Secure Boot 7, boot applications 4, grub 8-9, MOK 14) and the boot policy; its data
# dir emptied, so no agent attested earlier is listed.
boot-server() {
  cat >"$RUNDIR/boot.hcl" <<HCL
ek_ca_path = "$EK_CA_PATH"
pcr_selection = "sha256:0-9,14"
event_log = "required"
boot_policy_path = "$1"
log_level = "debug"
HCL
  fresh-server-with "$RUNDIR/boot.hcl"
}

# boot-policy FILE JSON: write a boot policy.
boot-policy() { printf '%s\n' "$2" >"$1"; }
