// spire-server NodeAttestor "tpm_quote": serve only.
import { serve } from '../plugin-sdk';

// Everything else loads on first use (Configure, the first Attest call, the host services' announcement),
// after the go-plugin handshake: the configuration, attestation, TPM, X.509 and protobuf modules. esbuild
// defers a module's set-up only when it is reached through require().
/* eslint-disable @typescript-eslint/no-require-imports -- deferred loading, see above */
const config = () => require('./config') as typeof import('./config');
const attestHandler = () => require('./attest-handler') as typeof import('./attest-handler');
const hostServicesProbe = () => require('./probe-host-services') as typeof import('./probe-host-services');
/* eslint-enable @typescript-eslint/no-require-imports */

void serve({
  pluginType: 'NodeAttestor',
  service: 'spire.plugin.server.nodeattestor.v1.NodeAttestor',
  configure: (core, hcl) => config().configureServer(core, hcl),
  onConfigured: ({ config }, plugin) => {
    if (config.logLevel) plugin.logger.setLevel(config.logLevel);
    plugin.logger.info('configured', {
      verifier: config.verifier,
      ...(config.keylime ? { keylime_url: config.keylime.url, keylime_timeout_ms: config.keylime.timeoutMs } : {}),
      ...(config.pcrPolicyPath ? { pcr_policy_path: config.pcrPolicyPath } : {}),
    });
  },
  onHostServices: async (plugin) => {
    await hostServicesProbe().probeHostServices(plugin);
  },
  implement: (plugin) => ({
    attest: attestHandler().createAttestHandler(plugin),
  }),
});
