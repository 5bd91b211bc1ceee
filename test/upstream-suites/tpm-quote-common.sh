#!/bin/bash
# Sourced by the steps of the container suites in this folder, after upstream's `common` (SPIRE's
# test/integration/common: log-*, fail-now, docker-up, check-log-line, ...). Those suites run under
# upstream's own runner (test-one.sh from SPIRE v1.13.3's source); scripts/test-harness.sh exports TPMQ_REPO.
: "${TPMQ_REPO:?run through scripts/test-harness.sh (TPMQ_REPO = this repository)}"
# shellcheck source=../helpers/render-conf.sh
source "${TPMQ_REPO}/test/helpers/render-conf.sh"

PLUGIN_IMAGE=tpm-quote-plugin:latest-local
TRUST_DOMAIN=example.org

# plugin-checksum EXE: the SHA-256 of /opt/spire/plugins/tpm_quote/EXE as the plugin image holds it, so
# plugin_checksum pins exactly what the init container copies.
plugin-checksum() {
    docker run --rm --network none --entrypoint /bin/busybox "${PLUGIN_IMAGE}" \
        sha256sum "/opt/spire/plugins/tpm_quote/$1" | cut -d' ' -f1
}

# render-tpm-quote-conf: conf/server/server.conf and conf/agent/agent.conf from the repository's conf/
# examples, with the containers' paths and names (upstream's layout: configs in /opt/spire/conf/*, data in
# /opt/spire/data/*, sockets at the default paths in /tmp; the plugin in /opt/spire/plugins/tpm_quote).
render-tpm-quote-conf() {
    SERVER_BIND_ADDRESS=0.0.0.0 SERVER_ADDRESS=spire-server SERVER_PORT=8081 SWTPM_HOST=swtpm SWTPM_PORT=2321
    SERVER_DATA_DIR=/opt/spire/data/server SERVER_SOCKET=/tmp/spire-server/private/api.sock
    AGENT_DATA_DIR=/opt/spire/data/agent AGENT_SOCKET=/tmp/spire-agent/public/api.sock
    TRUST_BUNDLE=/opt/spire/conf/agent/bootstrap.crt EK_CA_PATH=/opt/spire/conf/server/ek-ca.pem
    PLUGIN_DIR=/opt/spire/plugins/tpm_quote LOG_LEVEL=DEBUG PLUGIN_LOG_LEVEL=info
    SERVER_PLUGIN_CHECKSUM=$(plugin-checksum tpm-quote-server)
    AGENT_PLUGIN_CHECKSUM=$(plugin-checksum tpm-quote-agent)
    [[ $SERVER_PLUGIN_CHECKSUM =~ ^[0-9a-f]{64}$ && $AGENT_PLUGIN_CHECKSUM =~ ^[0-9a-f]{64}$ ]] ||
        fail-now "no plugin checksums from ${PLUGIN_IMAGE}"
    render-conf "${TPMQ_REPO}/conf/server.conf" conf/server/server.conf
    render-conf "${TPMQ_REPO}/conf/agent.conf" conf/agent/agent.conf
}

# start-swtpm SERVICE: bring up a swtpm container (state and EK CA in ./SERVICE on the host) and wait
# until its CA exists; prints nothing. The CA (root + issuer) is then in ./SERVICE/ek-ca.pem.
start-swtpm() {
    local svc=$1
    mkdir -p "$svc"
    docker-up "$svc"
    check-log-line "$svc" "serving on"
    cat "$svc/ca/swtpm-localca-rootca-cert.pem" "$svc/ca/issuercert.pem" >"$svc/ek-ca.pem" ||
        fail-now "$svc: no EK CA in ./$svc/ca"
}

# count-log SERVICE REGEX: how many lines of SERVICE's container log match REGEX. grep -c reads the whole
# log: under the runner's pipefail, `docker compose logs | grep -q` fails at random when grep exits on the
# first match while compose is still writing (SIGPIPE; 8 of 40 such checks failed mid-suite).
count-log() { docker compose logs --no-log-prefix "$1" 2>/dev/null | grep -cE "$2" || true; }

# log-has SERVICE REGEX: whether any line of SERVICE's container log matches REGEX.
log-has() { [ "$(count-log "$1" "$2")" -gt 0 ]; }

# wait-log-count SERVICE REGEX N SECONDS: wait until at least N lines match.
wait-log-count() {
    local n
    for ((i = 0; i < $4; i++)); do
        n=$(count-log "$1" "$2")
        [ "$n" -ge "$3" ] && return 0
        sleep 1
    done
    docker compose logs --tail 40 "$1"
    fail-now "$1: $n lines matching '$2' after $4 s, want $3"
}

# attested-id SERVICE: the SPIFFE ID of SERVICE's last successful node attestation (its JSON log).
attested-id() {
    docker compose logs --no-log-prefix "$1" | grep '"msg":"Node attestation was successful"' | tail -1 |
        sed -n 's/.*"spiffe_id":"\([^"]*\)".*/\1/p'
}

# server-cli ARGS...: spire-server's CLI inside the server container.
server-cli() { docker compose exec -T spire-server /opt/spire/bin/spire-server "$@"; }

# fetch-workload-svid: wait (30 s) until spire-agent's Workload API serves the X509-SVID of
# spiffe://$TRUST_DOMAIN/workload to a root process in the agent container; the answer is left in svid.txt.
fetch-workload-svid() {
    for ((i = 1; i <= 30; i++)); do
        if docker compose exec -T spire-agent /opt/spire/bin/spire-agent api fetch x509 >svid.txt 2>&1 &&
            grep -q "SPIFFE ID:.*spiffe://${TRUST_DOMAIN}/workload" svid.txt; then
            return 0
        fi
        sleep 1
    done
    cat svid.txt
    fail-now "no X509-SVID for spiffe://${TRUST_DOMAIN}/workload from spire-agent's Workload API"
}
