// spire-server NodeAttestor "tpm_quote": serve only.
import { ServerNodeAttestor } from '../proto';
import { serve } from '../plugin-sdk';
import { createAttestHandler } from './attest-handler';
import { configureServer } from './config';
import { probeHostServices } from './probe-host-services';

void serve({
  pluginType: 'NodeAttestor',
  service: ServerNodeAttestor,
  configure: configureServer,
  onConfigured: ({ config }, plugin) => {
    if (config.logLevel) plugin.logger.setLevel(config.logLevel);
    plugin.logger.info('configured', {
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
