// How long a strong read or a write waits for its key's owner before it is answered 504: every
// waiting request on one timer instead of a timer set and cleared per request.
import { StateTimeoutError } from './state-api-errors.ts';

interface Waiting {
  readonly dueAt: number;
  readonly what: string;
  readonly reject: (error: unknown) => void;
  settled: boolean;
}

/**
 * Every request waits the same `timeoutMs`, so they fall due in the order they came: the timer is
 * armed for the oldest one still waiting, and stopped once none waits (no timer is left behind).
 */
export class OwnerDeadlines {
  private waiting: Waiting[] = [];
  private head = 0;
  /** Requests not yet settled. */
  private open = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly timeoutMs: number) {}

  /**
   * `promise`'s outcome, or a StateTimeoutError (`<what>: the key's owner did not answer within
   * <timeoutMs> ms`) when it does not settle in time.
   */
  within<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = { dueAt: performance.now() + this.timeoutMs, what, reject, settled: false };
      this.waiting.push(entry);
      this.open++;
      this.timer ??= setTimeout(this.check, this.timeoutMs);
      promise.then(
        (value) => {
          if (this.settle(entry)) resolve(value);
        },
        (error: unknown) => {
          if (this.settle(entry)) reject(error);
        },
      );
    });
  }

  /** Marks `entry` answered; false when it timed out before. */
  private settle(entry: Waiting): boolean {
    if (entry.settled) return false;
    entry.settled = true;
    if (--this.open === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.waiting = [];
      this.head = 0;
    }
    return true;
  }

  private readonly check = (): void => {
    this.timer = undefined;
    const now = performance.now();
    const waiting = this.waiting;
    while (this.head < waiting.length) {
      const entry = waiting[this.head]!;
      if (!entry.settled) {
        if (entry.dueAt > now) break;
        this.settle(entry);
        entry.reject(
          new StateTimeoutError(`${entry.what}: the key's owner did not answer within ${this.timeoutMs} ms`),
        );
        // The last settle() may have emptied the queue.
        if (this.waiting !== waiting) return;
      }
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > waiting.length) {
      this.waiting = waiting.slice(this.head);
      this.head = 0;
    }
    const next = this.waiting[this.head];
    if (next !== undefined) this.timer = setTimeout(this.check, Math.max(1, next.dueAt - now));
  };
}
