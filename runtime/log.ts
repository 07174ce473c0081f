import { pino } from './deferred-packages.ts';
import { redactCredentials } from './redact.ts';

/** Log levels, most to least verbose. */
export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LogLevel;

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LogLevel, value);
}

/** `text`: one human-readable line per event; `json`: one JSON object per line (pino). */
export const LogFormat = { text: 'text', json: 'json' } as const;
export type LogFormat = keyof typeof LogFormat;

export function isLogFormat(value: string): value is LogFormat {
  return Object.hasOwn(LogFormat, value);
}

/**
 * Structured fields of a line: `stage`, `partition` and whatever the event carries (ids, positions,
 * sizes). The JSON format writes them as top-level keys; the text format, whose message already
 * says it, leaves them out.
 */
export type LogFields = Readonly<Record<string, unknown>>;

/** One line per event, to stderr, filtered by level. Credentials in URLs are redacted. */
export interface Logger {
  readonly level: LogLevel;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** True when stderr is an interactive terminal (progress indicators are drawn only then). */
  readonly interactive: boolean;
  /** Draws (or clears, with undefined) a one-line progress indicator; TTY and text format only. */
  progress(text: string | undefined): void;
}

export interface LoggerOptions {
  /** @default 'text' */
  readonly format?: LogFormat;
  /** Fields on every line of the JSON format, e.g. `{ job: 'wordcount' }`. */
  readonly bindings?: LogFields;
}

/** A logger to `stream` (stderr): text lines, or JSON lines with `options.format: 'json'`. */
export function createLogger(
  level: LogLevel = 'info',
  stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  options: LoggerOptions = {},
): Logger {
  return options.format === 'json' ? jsonLogger(level, stream, options.bindings ?? {}) : textLogger(level, stream);
}

function textLogger(level: LogLevel, stream: NodeJS.WritableStream & { isTTY?: boolean }): Logger {
  const threshold = LogLevel[level];
  const interactive = stream.isTTY === true;
  let progressShown = false;
  const write = (name: LogLevel, message: string): void => {
    if (LogLevel[name] < threshold) return;
    if (progressShown) {
      stream.write('\r\x1b[2K');
      progressShown = false;
    }
    stream.write(`${new Date().toISOString()} ${name.padEnd(5)} ${redactCredentials(message)}\n`);
  };
  return {
    level,
    interactive,
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
    progress(text) {
      if (!interactive || threshold > LogLevel.info) return;
      if (text === undefined) {
        if (progressShown) stream.write('\r\x1b[2K');
        progressShown = false;
        return;
      }
      stream.write(`\r\x1b[2K${text}`);
      progressShown = true;
    },
  };
}

/**
 * pino, writing synchronously to `stream` (a line is out before the process exits): `time` (ISO
 * 8601), `level` (its name), the bindings (`job`), the fields, `msg`.
 */
function jsonLogger(level: LogLevel, stream: NodeJS.WritableStream, bindings: LogFields): Logger {
  const { pino: createPino, stdTimeFunctions } = pino();
  const log = createPino(
    {
      level,
      base: null,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  ).child(bindings);
  const write = (name: Exclude<LogLevel, 'silent'>, message: string, fields: LogFields | undefined): void => {
    if (!log.isLevelEnabled(name)) return;
    const redacted = redactCredentials(message);
    if (fields === undefined) log[name](redacted);
    else log[name](redactFields(fields), redacted);
  };
  return {
    level,
    interactive: false,
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    progress() {},
  };
}

function redactFields(fields: LogFields): LogFields {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields))
    out[key] = typeof value === 'string' ? redactCredentials(value) : value;
  return out;
}
