# Shared by this suite's fault steps (sourced from the run dir).
#
# wait-line FILE REGEX TIMEOUT_S [PID]: return as soon as a line matching REGEX is appended to FILE (polled
# every ms from the file's current end) after sending SIGKILL to PID, when given: the fault lands a few ms
# after the plugin logged the step, inside the attestation (a SIGTERM would let SPIRE finish it first).
wait-line() {
  node -e '
    const fs = require("fs");
    const [file, re, timeout, pid] = [process.argv[1], new RegExp(process.argv[2]), Number(process.argv[3]) * 1000, Number(process.argv[4])];
    let pos = fs.statSync(file).size;
    const t0 = Date.now();
    let rest = "";
    const tick = () => {
      const size = fs.statSync(file).size;
      if (size > pos) {
        const fd = fs.openSync(file, "r");
        const buf = Buffer.alloc(size - pos);
        fs.readSync(fd, buf, 0, buf.length, pos);
        fs.closeSync(fd);
        pos = size;
        const lines = (rest + buf.toString("utf8")).split("\n");
        rest = lines.pop();
        if (lines.some((l) => re.test(l))) {
          if (pid) process.kill(pid, "SIGKILL");
          process.exit(0);
        }
      }
      if (Date.now() - t0 > timeout) { console.error("no line matching " + re + " in " + file); process.exit(1); }
      setTimeout(tick, 1);
    };
    tick();' "$1" "$2" "$3" "${4:-0}"
}

OK_RE='"msg":"Successfully reattested node"'
FAIL_RE='"msg":"Could not reattest agent"'
count-agent() { grep -cE "$1" "$LOGDIR/spire-agent.log" || true; }

# next-outcome OK0 FAIL0 TIMEOUT_S: "ok" or "failed": which count (successes or failed reattestations)
# moves first past OK0 / FAIL0.
next-outcome() {
  local deadline=$(($(date +%s) + $3))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(count-agent "$FAIL_RE")" -le "$2" ] || { echo failed; return 0; }
    [ "$(count-agent "$OK_RE")" -le "$1" ] || { echo ok; return 0; }
    sleep 0.1
  done
  fail-now "no reattestation outcome in $3 s"
}

# recovered OK0 TIMEOUT_S: a reattestation succeeds after the fault (the agent and its plugin not restarted).
recovered() {
  wait-json-count "$LOGDIR/spire-agent.log" 'e.msg === "Successfully reattested node"' $(($1 + 1)) "$2" spire-agent
  [ "$(plugin-pid spire-agent tpm-quote-agent)" = "$AGENT_PLUGIN_PID" ] || fail-now "the agent plugin process changed"
}

# no-transient-left TIMEOUT_S: the swtpm holds no transient object. An attestation in flight holds its AK (and
# a created EK) loaded for its few milliseconds, and the agent may start the next one at once, so a sample can
# catch one in flight: sample until one reads 0. A leaked object never goes away, so it still fails.
no-transient-left() {
  local deadline=$(($(date +%s) + $1)) t
  while :; do
    t=$(transient-handles)
    [ "$t" -ne 0 ] || return 0
    [ "$(date +%s)" -lt "$deadline" ] || fail-now "$t transient object(s) in the swtpm after recovering (every sample for $1 s)"
    sleep 0.2
  done
}
