// Public surface of proto/ for the plugins: the tpm_quote protocol module, its message types, and the generated
// SPIRE services they serve or call. The two NodeAttestor services share a name in the .proto files, so each
// is exported under the side it belongs to. The services are their method tables (proto/static-service.ts):
// the descriptors are built on first use, after the go-plugin handshake.
import { services } from './gen/services';

export * from './tpmquote/protocol';
export type { StaticService } from './static-service';
export type { AttestationChallenge, AttestationPayload, ChallengeResponse } from './gen/tpmquote/v1/attestation_pb';
export type {
  Challenge,
  PayloadOrChallengeResponseSchema,
} from './gen/spire/plugin/agent/nodeattestor/v1/nodeattestor_pb';
export type { AttestRequest, AttestResponseSchema } from './gen/spire/plugin/server/nodeattestor/v1/nodeattestor_pb';
export const AgentNodeAttestor = services['spire.plugin.agent.nodeattestor.v1.NodeAttestor'];
export const ServerNodeAttestor = services['spire.plugin.server.nodeattestor.v1.NodeAttestor'];
export const AgentStore = services['spire.hostservice.server.agentstore.v1.AgentStore'];
export const Metrics = services['spire.hostservice.common.metrics.v1.Metrics'];
