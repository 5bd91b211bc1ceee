import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Challenge, PayloadOrChallengeResponseSchema } from "../proto/gen/spire/plugin/agent/nodeattestor/v1/nodeattestor_pb";
import { PluginError, type CallContext, type PluginContext } from "../plugin-sdk";
import type { AgentConfig } from "./config";

/**
 * Agent side of tpm_quote attestation: sends the payload, then answers each
 * challenge. Not implemented yet (the attestor issue fills it in).
 */
export async function* aidAttestation(
  _plugin: PluginContext<AgentConfig>,
  _challenges: AsyncIterable<Challenge>,
  _call: CallContext,
): AsyncIterable<MessageInitShape<typeof PayloadOrChallengeResponseSchema>> {
  throw PluginError.unimplemented("tpm_quote agent attestation is not implemented yet");
}
