// Agent-side attestation counters and latency through SPIRE's Metrics host service (spire-agent offers it
// to plugins). Fire and forget: an absent or slow host service never delays or fails an attestation.
import type { PluginContext } from "../plugin-sdk";
import { Metrics } from "../proto/gen/spire/hostservice/common/metrics/v1/metrics_pb";

/**
 * Metric keys (Prometheus: spire_agent_tpm_quote_attestation, _attestation_duration: stream start to
 * response or failure, _attestation_tpm_ms: time spent in TPM commands).
 */
export const AGENT_ATTESTATION_COUNTER = ["tpm_quote", "attestation"];
export const AGENT_ATTESTATION_LATENCY = ["tpm_quote", "attestation", "duration"];
export const AGENT_TPM_TIME = ["tpm_quote", "attestation", "tpm_ms"];

const WAIT_MS = 2_000;

/** Records one agent attestation: `result` success|failure, `step` that failed (or "none"), its start (Date.now()) and TPM time. */
export interface AgentTelemetry {
  record(result: "success" | "failure", step: string, startedMs: number, tpmMs: number): void;
}

/** Telemetry through the Metrics host service; failures are logged once at debug and dropped. */
export function createAgentTelemetry(plugin: PluginContext<unknown>): AgentTelemetry {
  let warned = false;
  const send = async (result: string, step: string, startedMs: number, tpmMs: number) => {
    if (plugin.hostServices.names.length > 0 && !plugin.hostServices.offers(Metrics)) return;
    const metrics = await plugin.hostServices.client(Metrics, { timeoutMs: WAIT_MS });
    await Promise.all([
      metrics.incrCounter({ key: AGENT_ATTESTATION_COUNTER, val: 1, labels: [{ name: "result", value: result }, { name: "step", value: step }] }, { timeoutMs: WAIT_MS }),
      metrics.measureSince({ key: AGENT_ATTESTATION_LATENCY, time: BigInt(Math.round(startedMs * 1000)) * 1000n, labels: [{ name: "result", value: result }] }, { timeoutMs: WAIT_MS }),
      metrics.addSample({ key: AGENT_TPM_TIME, val: tpmMs, labels: [{ name: "result", value: result }] }, { timeoutMs: WAIT_MS }),
    ]);
  };
  return {
    record(result, step, startedMs, tpmMs) {
      send(result, step, startedMs, tpmMs).catch((err) => {
        if (warned) return;
        warned = true;
        plugin.logger.debug("telemetry not sent (Metrics host service unavailable)", { error: (err as Error).message });
      });
    },
  };
}
