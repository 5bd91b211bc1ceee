// Public surface of the plugin SDK: serve a plugin, the coded plugin error, the
// logger, host services and the config hook. Everything else is internal.
export { serve, type ServeOptions, type PluginContext } from "./serve";
export { PluginError, Code } from "./plugin-error";
export { createLogger, type Logger, type LogLevel, type LogFields, isLogLevel } from "./logger";
export type { HostServices } from "./host-services";
export type { ConfigureHook, ConfigResult, CoreConfig, Configured } from "./config-service";
export type { CallContext, ServiceImpl, ServiceClient, CallOptions } from "./grpc-adapter";
export { createMetricsEmitter, unixNanos, type MetricsEmitter } from "./metrics";
