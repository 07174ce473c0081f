/** Log levels, most to least verbose. */
export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LogLevel;

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LogLevel, value);
}

/** One line per event, to stderr, filtered by level. */
export interface Logger {
  readonly level: LogLevel;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** True when stderr is an interactive terminal (progress indicators are drawn only then). */
  readonly interactive: boolean;
  /** Draws (or clears, with undefined) a one-line progress indicator; TTY only. */
  progress(text: string | undefined): void;
}

export function createLogger(level: LogLevel = 'info', stream: NodeJS.WriteStream = process.stderr): Logger {
  const threshold = LogLevel[level];
  const interactive = stream.isTTY === true;
  let progressShown = false;
  const write = (name: LogLevel, message: string): void => {
    if (LogLevel[name] < threshold) return;
    if (progressShown) {
      stream.write('\r\x1b[2K');
      progressShown = false;
    }
    stream.write(`${new Date().toISOString()} ${name.padEnd(5)} ${message}\n`);
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
