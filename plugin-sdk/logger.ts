import { Writable } from 'node:stream';

/** hclog levels, most to least severe (winston numbering: lower = more severe). */
export const LOG_LEVELS = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 } as const;
export type LogLevel = keyof typeof LOG_LEVELS;

/** Environment variable that sets the initial log level (default "debug"; the host filters further). */
export const LOG_LEVEL_ENV = 'TPM_QUOTE_LOG_LEVEL';

/** Structured fields attached to a log line; they become fields in SPIRE's log. */
export type LogFields = Record<string, unknown>;

/** The plugin logger: hclog JSON lines on stderr, which go-plugin forwards into SPIRE's log. */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  trace(message: string, fields?: LogFields): void;
  /** A logger whose lines carry `@module` = name (nested names joined with "."). */
  child(module: string): Logger;
  setLevel(level: LogLevel): void;
  readonly level: LogLevel;
}

const RESERVED = new Set(['@level', '@message', '@timestamp', '@module']);

/** go-plugin reads plugin stderr in 64 KiB lines; stay well below (JSON escapes can grow UTF-8). */
export const MAX_LINE_CHARS = 16 * 1024;

/** True when `value` names a log level. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(LOG_LEVELS, value);
}

/**
 * Formats a time as hclog's JSON timestamp: UTC with exactly six fractional digits
 * (`2026-01-02T03:04:05.123000Z`); SPIRE's parser rejects other precisions.
 */
export function formatHclogTimestamp(date: Date): string {
  const iso = date.toISOString(); // 2026-01-02T03:04:05.123Z
  return `${iso.slice(0, 23)}000Z`;
}

/** Makes a field value JSON-safe: errors become their message, bigints decimal strings. */
function fieldValue(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/**
 * Renders one hclog JSON line (no newline). Field keys that clash with the reserved
 * `@` keys are dropped so a field can never forge the level or message.
 */
export function formatHclogLine(entry: {
  level: LogLevel;
  message: string;
  module?: string;
  time?: Date;
  fields?: LogFields;
}): string {
  const out: Record<string, unknown> = {
    '@level': entry.level,
    '@message': entry.message,
    '@timestamp': formatHclogTimestamp(entry.time ?? new Date()),
  };
  if (entry.module) out['@module'] = entry.module;
  for (const [key, value] of Object.entries(entry.fields ?? {})) {
    if (RESERVED.has(key) || value === undefined) continue;
    out[key] = fieldValue(value);
  }
  const line = JSON.stringify(out);
  if (line.length <= MAX_LINE_CHARS) return line;
  // go-plugin splits longer stderr lines, which turns the JSON into raw text in SPIRE's log:
  // keep the line parseable by shortening the message and dropping the fields.
  return JSON.stringify({
    '@level': out['@level'],
    '@message': `${entry.message.slice(0, 1024)}${entry.message.length > 1024 ? '...' : ''}`,
    '@timestamp': out['@timestamp'],
    ...(entry.module ? { '@module': entry.module } : {}),
    log_truncated: `line of ${line.length} characters exceeded ${MAX_LINE_CHARS}; fields dropped: ${Object.keys(out)
      .filter((k) => !RESERVED.has(k))
      .join(',')
      .slice(0, 1024)}`,
  });
}

/** Options for createLogger. */
export interface LoggerOptions {
  /** Initial level; default from TPM_QUOTE_LOG_LEVEL, else "debug". */
  level?: LogLevel;
  /** Where lines go; default process.stderr. Never stdout. */
  stream?: Writable;
  /** `@module` of the root logger; default none. */
  module?: string;
}

/**
 * Creates a logger writing hclog JSON lines (default: to stderr). The level is shared by the logger and
 * its children. A plain writer rather than a logging library: the plugins need one format, one stream
 * and a level, and a library's module graph was a tenth of each plugin's start-up (docs/packaging.md).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const envLevel = process.env[LOG_LEVEL_ENV];
  const state = {
    level: options.level ?? (isLogLevel(envLevel) ? envLevel : 'debug'),
    stream: options.stream ?? process.stderr,
  };
  return wrap(state, options.module);
}

function wrap(state: { level: LogLevel; stream: Writable }, module: string | undefined): Logger {
  const log = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (LOG_LEVELS[level] > LOG_LEVELS[state.level]) return;
    state.stream.write(`${formatHclogLine({ level, message, module, fields })}\n`);
  };
  return {
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: log('debug'),
    trace: log('trace'),
    child: (name) => wrap(state, module ? `${module}.${name}` : name),
    setLevel: (level) => {
      state.level = level;
    },
    get level() {
      return state.level;
    },
  };
}
