import type { Outlet } from './outlet.ts';

/**
 * The job's sink as the pipeline's last stage sees it, with the sink's backpressure lifted while a
 * checkpoint takes its cut. The source is paused then, so what the mailboxes hold bounds what the
 * sink takes on; without the lift, draining the mailboxes would wait for the sink to work off its
 * backlog (outputs in flight to JetStream), and the intake pause would grow with it.
 */
export class SinkGate implements Outlet {
  private lifted = false;
  private waiters: (() => void)[] = [];

  constructor(private readonly sink: Outlet) {}

  data(value: unknown, timestamp: number, position: number): void {
    this.sink.data(value, timestamp, position);
  }

  watermark(from: number, watermark: number, position: number): void {
    this.sink.watermark(from, watermark, position);
  }

  idle(from: number): void {
    this.sink.idle(from);
  }

  get congested(): boolean {
    return !this.lifted && this.sink.congested;
  }

  whenUncongested(): Promise<void> {
    if (this.lifted || !this.sink.congested) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let settled = false;
      const wake = (): void => {
        if (settled) return;
        settled = true;
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      };
      this.waiters.push(wake);
      this.sink.whenUncongested().then(wake, (error: unknown) => {
        if (settled) return;
        settled = true;
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(error);
      });
    });
  }

  /** Lifts the sink's backpressure (a cut is under way) and wakes whoever waits for it. */
  lift(): void {
    this.lifted = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Back to the sink's own backpressure. */
  restore(): void {
    this.lifted = false;
  }
}
