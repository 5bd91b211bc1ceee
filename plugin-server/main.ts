// spire-server NodeAttestor "tpm_quote": serve only.
import { NodeAttestor } from "../proto/gen/spire/plugin/server/nodeattestor/v1/nodeattestor_pb";
import { serve } from "../plugin-sdk";
import { createAttestHandler } from "./attest-handler";
import { configureServer } from "./config";
import { probeHostServices } from "./probe-host-services";

void serve({
  pluginType: "NodeAttestor",
  service: NodeAttestor,
  configure: configureServer,
  onConfigured: ({ config }, plugin) => {
    if (config.logLevel) plugin.logger.setLevel(config.logLevel);
    plugin.logger.info("configured", {
      verifier: config.verifier,
      ...(config.keylime ? { keylime_url: config.keylime.url, keylime_timeout_ms: config.keylime.timeoutMs } : {}),
      ...(config.pcrPolicyPath ? { pcr_policy_path: config.pcrPolicyPath } : {}),
    });
  },
  onHostServices: async (plugin) => {
    await probeHostServices(plugin);
  },
  implement: (plugin) => ({
    attest: createAttestHandler(plugin),
  }),
});
