// spire-agent NodeAttestor "tpm_quote": serve only.
import { AgentNodeAttestor } from '../proto';
import { serve } from '../plugin-sdk';
import { createAidAttestation } from './aid-attestation';
import { configureAgent } from './config';

void serve({
  pluginType: 'NodeAttestor',
  service: AgentNodeAttestor,
  configure: configureAgent,
  onConfigured: ({ config }, plugin) => {
    if (config.logLevel) plugin.logger.setLevel(config.logLevel);
  },
  implement: (plugin) => ({
    aidAttestation: createAidAttestation(plugin),
  }),
});
