// A logger that keeps the messages of info, warn and error (debug and progress are dropped), for
// tests that check what a run logged.
import type { Logger } from '../../runtime/index.ts';

export function collectingLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const record = (line: string): void => void lines.push(line);
  return {
    level: 'info',
    interactive: false,
    lines,
    debug: () => {},
    info: record,
    warn: record,
    error: record,
    progress: () => {},
  };
}
