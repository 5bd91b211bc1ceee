import { Code, type PluginContext } from '../plugin-sdk';
import { AgentStore, Metrics } from '../proto';

/** An agent ID that cannot exist, so a ready AgentStore answers NotFound. */
const PROBE_AGENT_ID = 'spiffe://probe.invalid/spire/agent/tpm_quote/host-service-probe';
const CALL_TIMEOUT_MS = 5_000;
/** spire-server initialises AgentStore after loading plugins; retry FailedPrecondition for this long. */
const AGENTSTORE_READY_WAIT_MS = 15_000;
const RETRY_EVERY_MS = 500;

const codeName = (err: unknown): string => {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && Code[code] !== undefined ? String(Code[code]) : 'UNKNOWN';
};

/**
 * Asks AgentStore about a bogus agent: NotFound (or an answer) proves the host
 * service is reached and ready. FailedPrecondition means "reached, not initialised
 * yet" and is retried for a while. Returns the final answer's code name.
 */
async function probeAgentStore(plugin: PluginContext<unknown>): Promise<string> {
  const agentStore = await plugin.hostServices.client(AgentStore);
  const deadline = Date.now() + AGENTSTORE_READY_WAIT_MS;
  for (;;) {
    try {
      await agentStore.getAgentInfo({ agentId: PROBE_AGENT_ID }, { timeoutMs: CALL_TIMEOUT_MS });
      return 'OK';
    } catch (err) {
      const code = codeName(err);
      if (code !== 'FAILED_PRECONDITION' || Date.now() >= deadline) return code;
      await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS).unref());
    }
  }
}

/**
 * Checks that SPIRE's host services answer over the go-plugin broker: AgentStore
 * (GetAgentInfo for a bogus agent) and Metrics (IncrCounter), then logs at debug
 * "reached host services" with the services that answered. A service counts as
 * reached when the host's implementation answered (OK, NotFound or
 * FailedPrecondition), not when the call failed at the transport (Unavailable,
 * Unimplemented, deadline). Never throws.
 */
export async function probeHostServices(plugin: PluginContext<unknown>): Promise<string[]> {
  const answers: Record<string, string> = {};
  const reached: string[] = [];
  const answeredByService = new Set(['OK', 'NOT_FOUND', 'FAILED_PRECONDITION']);
  try {
    answers[AgentStore.typeName] = await probeAgentStore(plugin);
  } catch (err) {
    answers[AgentStore.typeName] = `${codeName(err)}: ${(err as Error).message}`;
  }
  try {
    const metrics = await plugin.hostServices.client(Metrics);
    await metrics.incrCounter(
      { key: ['tpm_quote', 'host_service_probe'], val: 1, labels: [{ name: 'side', value: 'server' }] },
      { timeoutMs: CALL_TIMEOUT_MS },
    );
    answers[Metrics.typeName] = 'OK';
  } catch (err) {
    answers[Metrics.typeName] = `${codeName(err)}: ${(err as Error).message}`;
  }
  for (const [service, answer] of Object.entries(answers)) if (answeredByService.has(answer)) reached.push(service);
  plugin.logger.debug('reached host services', {
    services: reached.join(','),
    count: reached.length,
    agentstore_answer: answers[AgentStore.typeName],
    metrics_answer: answers[Metrics.typeName],
  });
  return reached;
}
