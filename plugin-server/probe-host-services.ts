import { Code, type PluginContext } from "../plugin-sdk";
import { AgentStore } from "../proto/gen/spire/hostservice/server/agentstore/v1/agentstore_pb";
import { Metrics } from "../proto/gen/spire/hostservice/common/metrics/v1/metrics_pb";

/** An agent ID that cannot exist, so GetAgentInfo must answer NotFound. */
const PROBE_AGENT_ID = "spiffe://probe.invalid/spire/agent/tpm_quote/host-service-probe";
const PROBE_TIMEOUT_MS = 5_000;

/**
 * Checks that SPIRE's host services answer over the go-plugin broker: asks AgentStore
 * about a bogus agent (NotFound proves it answered) and bumps a Metrics counter, then
 * logs at debug which services it reached. Never throws: failures are logged.
 */
export async function probeHostServices(plugin: PluginContext<unknown>): Promise<string[]> {
  const log = plugin.logger;
  const reached: string[] = [];
  const failed: string[] = [];
  try {
    const agentStore = await plugin.hostServices.client(AgentStore);
    try {
      await agentStore.getAgentInfo({ agentId: PROBE_AGENT_ID }, { timeoutMs: PROBE_TIMEOUT_MS });
      reached.push(AgentStore.typeName);
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === Code.NOT_FOUND) reached.push(AgentStore.typeName);
      else failed.push(`${AgentStore.typeName}: ${(err as Error).message}`);
    }
    const metrics = await plugin.hostServices.client(Metrics);
    try {
      await metrics.incrCounter({ key: ["tpm_quote", "host_service_probe"], val: 1, labels: [{ name: "side", value: "server" }] }, { timeoutMs: PROBE_TIMEOUT_MS });
      reached.push(Metrics.typeName);
    } catch (err) {
      failed.push(`${Metrics.typeName}: ${(err as Error).message}`);
    }
  } catch (err) {
    failed.push(`broker: ${(err as Error).message}`);
  }
  log.debug("reached host services", { reached: reached.join(","), failed: failed.join("; ") || undefined, count: reached.length });
  return reached;
}
