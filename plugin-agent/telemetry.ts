// Agent-side attestation counters and latency through SPIRE's Metrics host service (spire-agent offers it
// to plugins).
import { createMetricsEmitter, unixNanos, type PluginContext } from '../plugin-sdk';

/**
 * Metric keys (Prometheus: spire_agent_tpm_quote_attestation, _attestation_duration: stream start to
 * response or failure, _attestation_tpm_ms: time spent in TPM commands).
 */
export const AGENT_ATTESTATION_COUNTER = ['tpm_quote', 'attestation'];
export const AGENT_ATTESTATION_LATENCY = ['tpm_quote', 'attestation', 'duration'];
export const AGENT_TPM_TIME = ['tpm_quote', 'attestation', 'tpm_ms'];

/** Records one agent attestation: `result` success|failure, `step` that failed (or "none"), its start (Date.now()) and TPM time. */
export interface AgentTelemetry {
  record(result: 'success' | 'failure', step: string, startedMs: number, tpmMs: number): void;
}

/** Telemetry through the Metrics host service (fire and forget). */
export function createAgentTelemetry(plugin: PluginContext<unknown>): AgentTelemetry {
  const metrics = createMetricsEmitter(plugin);
  return {
    record(result, step, startedMs, tpmMs) {
      const outcome = [{ name: 'result', value: result }];
      metrics.emit((m, o) => [
        m.incrCounter(
          { key: AGENT_ATTESTATION_COUNTER, val: 1, labels: [...outcome, { name: 'step', value: step }] },
          o,
        ),
        m.measureSince({ key: AGENT_ATTESTATION_LATENCY, time: unixNanos(startedMs), labels: outcome }, o),
        m.addSample({ key: AGENT_TPM_TIME, val: tpmMs, labels: outcome }, o),
      ]);
    },
  };
}
