import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AttestRequest, AttestResponseSchema } from "../proto/gen/spire/plugin/server/nodeattestor/v1/nodeattestor_pb";
import { PluginError, type CallContext, type PluginContext } from "../plugin-sdk";
import type { ServerConfig } from "./config";

/**
 * Server side of tpm_quote attestation: checks the payload, issues challenges and
 * answers with the agent's attributes. Not implemented yet (the attestor issue fills it in).
 */
export async function* attest(
  _plugin: PluginContext<ServerConfig>,
  _requests: AsyncIterable<AttestRequest>,
  _call: CallContext,
): AsyncIterable<MessageInitShape<typeof AttestResponseSchema>> {
  throw PluginError.unimplemented("tpm_quote server attestation is not implemented yet");
}
