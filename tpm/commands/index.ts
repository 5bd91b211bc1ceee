// TPM commands: each declared once with named handles (definitions), run by the one execute(); plus the
// multi-command reads (capability pages, whole NV indices, consistent PCR reads) and shared parameter values.
export * from './definitions';
export {
  execute,
  defineCommand,
  handleNames,
  marshalCommand,
  unmarshalResponse,
  passwordAuth,
  policyAuth,
} from './execute';
export type {
  AuthHandle,
  AuthSession,
  CallOptions,
  CommandDef,
  ExecuteInput,
  ExecuteOutput,
  NamedHandles,
  TpmSender,
} from './execute';
export { getHandles, getPcrBanks, getProperties, getProperty } from './capability';
export { countingSender, type CommandCounts } from './counting';
export { flushQuietly } from './flush';
export { nvReadAll } from './nv-read';
export { pcrRead, type PcrReadResult } from './pcr-read';
export { keyCreateParams, NULL_SIG_SCHEME, POLICY_SECRET_PARAMS, UNBOUND_SESSION, policySessionParams } from './params';
