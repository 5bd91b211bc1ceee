import { parseBaseConfig, type BaseConfig, type ConfigureHook } from "../plugin-sdk";

/** Parsed server configuration. */
export type ServerConfig = BaseConfig;

/** Parses the server's plugin_data. */
export const configureServer: ConfigureHook<ServerConfig> = parseBaseConfig;
