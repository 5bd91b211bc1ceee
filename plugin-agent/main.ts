// spire-agent NodeAttestor "tpm_quote": serve only.
import { NodeAttestor } from "../proto/gen/spire/plugin/agent/nodeattestor/v1/nodeattestor_pb";
import { serve } from "../plugin-sdk";
import { createAidAttestation } from "./aid-attestation";
import { configureAgent } from "./config";

void serve({
  pluginType: "NodeAttestor",
  service: NodeAttestor,
  configure: configureAgent,
  onConfigured: ({ config }, plugin) => {
    if (config.logLevel) plugin.logger.setLevel(config.logLevel);
  },
  implement: (plugin) => ({
    aidAttestation: createAidAttestation(plugin),
  }),
});
