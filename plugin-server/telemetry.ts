// Attestation counters and latency sent to SPIRE's telemetry through the Metrics host service.
import { createMetricsEmitter, unixNanos, type PluginContext } from '../plugin-sdk';

/** Metric keys (SPIRE joins them with "_" on Prometheus: tpm_quote_attestation, tpm_quote_attestation_duration). */
export const ATTESTATION_COUNTER = ['tpm_quote', 'attestation'];
export const ATTESTATION_LATENCY = ['tpm_quote', 'attestation', 'duration'];

/** Records attestation outcomes. */
export interface AttestationTelemetry {
  /** One attestation ended: `result` success|failure, `reason` the failed check (or "none"); started = Date.now() at its start. */
  record(result: 'success' | 'failure', reason: string, startedMs: number): void;
}

/**
 * Telemetry through the Metrics host service (fire and forget): IncrCounter(tpm_quote.attestation{result,reason})
 * and MeasureSince(tpm_quote.attestation.duration{result}).
 */
export function createAttestationTelemetry(plugin: PluginContext<unknown>): AttestationTelemetry {
  const metrics = createMetricsEmitter(plugin);
  return {
    record(result, reason, startedMs) {
      const outcome = [{ name: 'result', value: result }];
      metrics.emit((m, o) => [
        m.incrCounter({ key: ATTESTATION_COUNTER, val: 1, labels: [...outcome, { name: 'reason', value: reason }] }, o),
        m.measureSince({ key: ATTESTATION_LATENCY, time: unixNanos(startedMs), labels: outcome }, o),
      ]);
    },
  };
}
