import { parseBaseConfig, type BaseConfig, type ConfigureHook } from "../plugin-sdk";

/** Parsed agent configuration. */
export type AgentConfig = BaseConfig;

/** Parses the agent's plugin_data. */
export const configureAgent: ConfigureHook<AgentConfig> = parseBaseConfig;
