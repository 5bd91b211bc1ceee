// spire-agent NodeAttestor "tpm_quote": serve only.
import { serve } from '../plugin-sdk';

// Everything else loads on first use (Configure, the first AidAttestation call), after the go-plugin
// handshake: the configuration, attestation, TPM and protobuf modules. esbuild defers a module's set-up
// only when it is reached through require().
/* eslint-disable @typescript-eslint/no-require-imports -- deferred loading, see above */
const config = () => require('./config') as typeof import('./config');
const aidAttestation = () => require('./aid-attestation') as typeof import('./aid-attestation');
/* eslint-enable @typescript-eslint/no-require-imports */

void serve({
  pluginType: 'NodeAttestor',
  service: 'spire.plugin.agent.nodeattestor.v1.NodeAttestor',
  configure: (core, hcl) => config().configureAgent(core, hcl),
  onConfigured: ({ config }, plugin) => {
    if (config.logLevel) plugin.logger.setLevel(config.logLevel);
  },
  implement: (plugin) => ({
    aidAttestation: aidAttestation().createAidAttestation(plugin),
  }),
});
