# Sourced by this suite's steps: the Keylime helpers (keylime-attest/keylime.sh), the refusal helpers
# (tpm-quote-refusals/refusal.sh), and mb-server.
# shellcheck disable=SC1091
source "$ROOTDIR/suites/keylime-attest/keylime.sh"
# shellcheck disable=SC1091
source "$ROOTDIR/suites/tpm-quote-refusals/refusal.sh"

# mb-server REFSTATE: (re)start spire-server in Keylime mode with measured boot: event_log = "required", the PCRs
# Keylime's example policy reads quoted (sha256 0-9 and 14), the PCR 0-7 tpm_policy, and REFSTATE as
# keylime.mb_refstate_path.
mb-server() {
  cat >"$RUNDIR/mb.hcl" <<HCL
ek_ca_path = "$EK_CA_PATH"
pcr_selection = "sha256:0-9,14"
pcr_policy_path = "$RUNDIR/tpm-policy.json"
event_log = "required"
verifier = "keylime"
$(keylime-block 20s "mb_refstate_path = \"$1\"")
log_level = "debug"
HCL
  fresh-server-with "$RUNDIR/mb.hcl"
}

# keylime-evidence-posts: how many POST /verify/evidence Keylime has served.
keylime-evidence-posts() { grep -cE 'keylime\.web - INFO - POST /v2\.[0-9]+/verify/evidence' "$KEYLIME_LOG" || true; }
