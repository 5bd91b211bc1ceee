// Agent-side attestation counters and latency through SPIRE's Metrics host service (spire-agent offers it
// to plugins).
import { createMetricsEmitter, unixNanos, type PluginContext } from '../plugin-sdk';
import type { CommandCounts } from '../tpm';

/**
 * Metric keys (Prometheus: spire_agent_tpm_quote_attestation, _attestation_duration: stream start to
 * response or failure, _attestation_tpm_ms: time spent in TPM commands, _attestation_tpm_commands: TPM
 * commands sent, _attestation_tpm_create_primary: of which TPM2_CreatePrimary; these two also labelled
 * identity="cached"|"read").
 */
export const AGENT_ATTESTATION_COUNTER = ['tpm_quote', 'attestation'];
export const AGENT_ATTESTATION_LATENCY = ['tpm_quote', 'attestation', 'duration'];
export const AGENT_TPM_TIME = ['tpm_quote', 'attestation', 'tpm_ms'];
export const AGENT_TPM_COMMANDS = ['tpm_quote', 'attestation', 'tpm_commands'];
export const AGENT_TPM_CREATE_PRIMARY = ['tpm_quote', 'attestation', 'tpm_create_primary'];

/**
 * Records one agent attestation: `result` success|failure, `step` that failed (or "none"), its start
 * (Date.now()), TPM time and the TPM commands it sent (when the TPM was reached), labelled `identity`
 * cached|read: whether the TPM identity was reused from an earlier attestation or read in full.
 */
export interface AgentTelemetry {
  record(
    result: 'success' | 'failure',
    step: string,
    startedMs: number,
    tpmMs: number,
    commands?: CommandCounts,
    identity?: 'cached' | 'read',
  ): void;
}

/** Telemetry through the Metrics host service (fire and forget). */
export function createAgentTelemetry(plugin: PluginContext<unknown>): AgentTelemetry {
  const metrics = createMetricsEmitter(plugin);
  return {
    record(result, step, startedMs, tpmMs, commands, identity) {
      const outcome = [{ name: 'result', value: result }];
      const counted = [...outcome, { name: 'identity', value: identity ?? 'read' }];
      metrics.emit((m, o) => [
        m.incrCounter(
          { key: AGENT_ATTESTATION_COUNTER, val: 1, labels: [...outcome, { name: 'step', value: step }] },
          o,
        ),
        m.measureSince({ key: AGENT_ATTESTATION_LATENCY, time: unixNanos(startedMs), labels: outcome }, o),
        m.addSample({ key: AGENT_TPM_TIME, val: tpmMs, labels: outcome }, o),
        ...(commands
          ? [
              m.addSample({ key: AGENT_TPM_COMMANDS, val: commands.total, labels: counted }, o),
              m.addSample({ key: AGENT_TPM_CREATE_PRIMARY, val: commands.createPrimary, labels: counted }, o),
            ]
          : []),
      ]);
    },
  };
}
