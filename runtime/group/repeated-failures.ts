// The group's requests to NATS fail now and then (a server restarts, a request times out) and are
// tried again on the next heartbeat or reconcile: one failure is news for the debug log only. A
// failure that repeats is how a stuck worker looks, so it is logged at warn, with what the worker
// does next, and its end at info.
import type { Logger } from '../log.ts';

/** Consecutive failures per operation ("the heartbeat of worker w", "the claim of partition p"). */
export class RepeatedFailures {
  private readonly counts = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  /**
   * `operation` failed (again) with `error`; `next` says what the worker does about it. Logged at debug
   * the first time, at warn the 2nd, 4th, 8th... time in a row (a failure every heartbeat must not
   * flood the log, nor go quiet).
   */
  failed(operation: string, error: unknown, next: string): void {
    const count = (this.counts.get(operation) ?? 0) + 1;
    this.counts.set(operation, count);
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const message = `${operation} failed${count > 1 ? ` (${count} times in a row)` : ''}: ${why}; ${next}`;
    if (count > 1 && (count & (count - 1)) === 0) this.log.warn(message);
    else this.log.debug(message);
  }

  /** `operation` succeeded: a run of failures that was warned about ends with an info line. */
  succeeded(operation: string): void {
    const count = this.counts.get(operation);
    if (count === undefined) return;
    this.counts.delete(operation);
    if (count > 1) this.log.info(`${operation} succeeded again after ${count} failures in a row`);
  }

  /** Forgets `operation` without a line (it is no longer tried: the unit moved, the worker left). */
  forget(operation: string): void {
    this.counts.delete(operation);
  }
}
