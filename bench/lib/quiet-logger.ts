import type { Logger } from '../../runtime/log.ts';

/** A logger that keeps the bench's output to its table. */
export const quietLogger: Logger = {
  level: 'warn',
  interactive: false,
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  progress: () => {},
};
