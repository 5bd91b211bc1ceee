// Public surface of the plugin SDK: serve a plugin, the coded plugin error (and the one mapper from domain
// errors to it), the logger, host services, the config hook and the config builder. Everything else is
// internal; plugins import only this file.
export { serve, type ServeOptions, type PluginContext } from './serve';
export { PluginError, Code } from './plugin-error';
export { toPluginError, type ClassifiedError, type DomainErrorContext, type FailureClass } from './domain-errors';
export { createLogger, type Logger, type LogLevel, type LogFields, isLogLevel } from './logger';
export type { HostServices } from './host-services';
export type { ConfigureHook, ConfigResult, CoreConfig, Configured } from './config-service';
export type { CallContext, ServiceImpl, ServiceClient, CallOptions } from './grpc-adapter';
export { createMetricsEmitter, unixNanos, type MetricsEmitter } from './metrics';
export { defineConfig, bool, custom, duration, enumOf, int, list, object, string } from './config';
export type { ConfigOf, ConfigDefinition, CustomFieldOptions, CustomReadContext, Field } from './config';
