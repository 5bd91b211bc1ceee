export * from './definitions';
export { execute, defineCommand, marshalCommand, unmarshalResponse, passwordAuth, policyAuth } from './execute';
export type { CommandDef, AuthSession, ExecuteInput, ExecuteOutput } from './execute';
export * from './operations';
