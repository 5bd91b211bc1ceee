// Attestation counters and latency sent to SPIRE's telemetry through the Metrics host service. Fire and
// forget: an absent or slow host service never delays or fails an attestation.
import type { PluginContext } from "../plugin-sdk";
import { Metrics } from "../proto/gen/spire/hostservice/common/metrics/v1/metrics_pb";

/** Metric keys (SPIRE joins them with "_" on Prometheus: tpm_quote_attestation, tpm_quote_attestation_duration). */
export const ATTESTATION_COUNTER = ["tpm_quote", "attestation"];
export const ATTESTATION_LATENCY = ["tpm_quote", "attestation", "duration"];

const HOST_SERVICE_WAIT_MS = 2_000;
const CALL_TIMEOUT_MS = 2_000;

/** Nanoseconds since the Unix epoch (Go's time.UnixNano), as the Metrics host service wants. */
export function unixNanos(ms: number = Date.now()): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n;
}

/** Records attestation outcomes. */
export interface AttestationTelemetry {
  /** One attestation ended: `result` success|failure, `reason` the failed check (or "none"); started = Date.now() at its start. */
  record(result: "success" | "failure", reason: string, startedMs: number): void;
}

/**
 * Telemetry through the Metrics host service: IncrCounter(tpm_quote.attestation{result,reason}) and
 * MeasureSince(tpm_quote.attestation.duration{result}). Calls are not awaited by the caller; failures are
 * logged at debug once per kind and dropped.
 */
export function createAttestationTelemetry(plugin: PluginContext<unknown>): AttestationTelemetry {
  let warned = false;
  const send = async (result: string, reason: string, startedMs: number) => {
    if (plugin.hostServices.names.length > 0 && !plugin.hostServices.offers(Metrics)) return;
    const metrics = await plugin.hostServices.client(Metrics, { timeoutMs: HOST_SERVICE_WAIT_MS });
    await Promise.all([
      metrics.incrCounter(
        { key: ATTESTATION_COUNTER, val: 1, labels: [{ name: "result", value: result }, { name: "reason", value: reason }] },
        { timeoutMs: CALL_TIMEOUT_MS },
      ),
      metrics.measureSince(
        { key: ATTESTATION_LATENCY, time: unixNanos(startedMs), labels: [{ name: "result", value: result }] },
        { timeoutMs: CALL_TIMEOUT_MS },
      ),
    ]);
  };
  return {
    record(result, reason, startedMs) {
      send(result, reason, startedMs).catch((err) => {
        if (warned) return;
        warned = true;
        plugin.logger.debug("telemetry not sent (Metrics host service unavailable)", { error: (err as Error).message });
      });
    },
  };
}
