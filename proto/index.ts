// Public surface of proto/ for the plugins: the tpm_quote protocol module, its message types, and the generated
// SPIRE services they serve or call. The two NodeAttestor services share a name in the .proto files, so each
// is exported under the side it belongs to.
export * from './tpmquote/protocol';
export type { AttestationChallenge, AttestationPayload, ChallengeResponse } from './gen/tpmquote/v1/attestation_pb';
export {
  NodeAttestor as AgentNodeAttestor,
  type Challenge,
  type PayloadOrChallengeResponseSchema,
} from './gen/spire/plugin/agent/nodeattestor/v1/nodeattestor_pb';
export {
  NodeAttestor as ServerNodeAttestor,
  type AttestRequest,
  type AttestResponseSchema,
} from './gen/spire/plugin/server/nodeattestor/v1/nodeattestor_pb';
export { AgentStore } from './gen/spire/hostservice/server/agentstore/v1/agentstore_pb';
export { Metrics } from './gen/spire/hostservice/common/metrics/v1/metrics_pb';
