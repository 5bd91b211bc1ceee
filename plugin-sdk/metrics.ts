// Plugin telemetry through SPIRE's Metrics host service, fire and forget: an absent or slow host service never
// delays or fails the RPC that reports.
import { services } from '../proto/gen/services';
import type { CallOptions, ServiceClient } from './grpc-adapter';
import type { PluginContext } from './serve';

const Metrics = services['spire.hostservice.common.metrics.v1.Metrics'];

/** How long to wait for the host service, and for each call. */
const WAIT_MS = 2_000;

/** Nanoseconds since the Unix epoch (Go's time.UnixNano), as MeasureSince wants. */
export function unixNanos(ms: number = Date.now()): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n;
}

/** Sends metric calls without being awaited. */
export interface MetricsEmitter {
  /** Makes `calls` on the Metrics client (each with the given call options); never throws, never waits. */
  emit(calls: (metrics: ServiceClient<typeof Metrics>, options: CallOptions) => Promise<unknown>[]): void;
}

/**
 * A MetricsEmitter over the plugin's host services. Calls are dropped when SPIRE did not offer Metrics at
 * Init; the first failure is logged at debug, later ones silently dropped.
 */
export function createMetricsEmitter(plugin: PluginContext<unknown>): MetricsEmitter {
  let warned = false;
  const send = async (calls: Parameters<MetricsEmitter['emit']>[0]) => {
    if (plugin.hostServices.names.length > 0 && !plugin.hostServices.offers(Metrics)) return;
    const metrics = await plugin.hostServices.client(Metrics, { timeoutMs: WAIT_MS });
    await Promise.all(calls(metrics, { timeoutMs: WAIT_MS }));
  };
  return {
    emit(calls) {
      send(calls).catch((err) => {
        if (warned) return;
        warned = true;
        plugin.logger.debug('telemetry not sent (Metrics host service unavailable)', { error: (err as Error).message });
      });
    },
  };
}
