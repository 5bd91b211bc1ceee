import { HclParseError, parseConfigText } from "./hcl";
import type { ConfigResult, CoreConfig } from "./config-service";
import { isLogLevel, type LogLevel } from "./logger";

/** The configuration every plugin accepts until its own schema lands: only `log_level`. */
export interface BaseConfig {
  trustDomain: string;
  /** Plugin log level (trace|debug|info|warn|error); unset keeps TPM_QUOTE_LOG_LEVEL / debug. */
  logLevel?: LogLevel;
}

/**
 * Parses hcl_configuration accepting only `log_level`; every other key is a note
 * naming it. Stand-in until the typed schema builder (plugin-sdk/config) is wired in.
 */
export function parseBaseConfig(core: CoreConfig, hcl: string): ConfigResult<BaseConfig> {
  let raw;
  try {
    raw = parseConfigText(hcl);
  } catch (err) {
    if (err instanceof HclParseError) return { notes: [`plugin_data: ${err.message}`] };
    throw err;
  }
  const notes: string[] = [];
  const config: BaseConfig = { trustDomain: core.trustDomain };
  for (const [key, value] of Object.entries(raw)) {
    if (key === "log_level") {
      if (isLogLevel(value)) config.logLevel = value;
      else notes.push(`log_level: expected one of trace, debug, info, warn, error, got ${JSON.stringify(value)}`);
    } else {
      notes.push(`${key}: unknown key`);
    }
  }
  return notes.length > 0 ? { notes } : { config };
}
