/**
 * The pause/resume/stop handshake between the runtime and a source's reading loop (file and
 * stream sources alike). The runtime calls `pause()` (a checkpoint wants a position), `resume()`
 * and `stop()`; the loop checks `interrupted` at each message boundary and then awaits
 * `holdOrStop(position)`, which parks it while paused and tells it whether to return.
 */
export class SourceControl {
  private pauseRequested = false;
  private paused: { resolve: (position: number) => void; promise: Promise<number> } | undefined;
  private resumeGate: (() => void) | undefined;
  private stopRequested = false;
  /** The position the loop returned at after a stop: a pause asked for later is answered with it. */
  private stoppedAt: number | undefined;
  /** Ends the loop's wait in `whenWritableOrInterrupted`, if it is waiting there. */
  private interruptWait: (() => void) | undefined;

  /** @param wake cuts short the loop's wait for input (new data, a poll, the idle timeout). */
  constructor(private readonly wake: () => void) {}

  /** True when a pause or a stop waits for the loop to reach a message boundary. */
  get interrupted(): boolean {
    return this.pauseRequested || this.stopRequested;
  }

  /** Asks the loop to halt at the next message boundary; resolves with the position it halted at. */
  pause(): Promise<number> {
    // The loop has returned (a checkpoint asked right after stop()): no boundary would answer it.
    if (this.stoppedAt !== undefined) return Promise.resolve(this.stoppedAt);
    if (this.paused === undefined) {
      let resolve!: (position: number) => void;
      const promise = new Promise<number>((r) => (resolve = r));
      this.paused = { resolve, promise };
      this.pauseRequested = true;
      this.wake();
      this.interruptWait?.();
    }
    return this.paused.promise;
  }

  resume(): void {
    this.pauseRequested = false;
    this.paused = undefined;
    const gate = this.resumeGate;
    this.resumeGate = undefined;
    gate?.();
  }

  /**
   * Makes the loop return at its next message boundary (also from a pause). A pause requested
   * before is still answered, at that boundary: a checkpoint waiting for it must not hang.
   */
  stop(): void {
    this.stopRequested = true;
    this.wake();
    this.interruptWait?.();
    const gate = this.resumeGate;
    this.resumeGate = undefined;
    gate?.();
  }

  /**
   * Waits for `writable` (the pipeline taking input again), or for a pause or a stop, whichever
   * comes first. The loop calls it at a message boundary, so a checkpoint's cut need not wait for a
   * congested pipeline (a backed-up sink) to drain: the cut drains the mailboxes itself with the
   * sink's backpressure lifted, and the intake pause does not grow with the sink's backlog.
   */
  whenWritableOrInterrupted(writable: Promise<void>): Promise<void> {
    if (this.interrupted) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        if (this.interruptWait === done) this.interruptWait = undefined;
        resolve();
      };
      this.interruptWait = done;
      writable.then(done, (error: unknown) => {
        if (this.interruptWait === done) this.interruptWait = undefined;
        reject(error);
      });
    });
  }

  /**
   * Called by the loop at a message boundary, `position` being the last processed one: while a
   * pause is requested, reports the position and waits for `resume()`. Resolves true when the loop
   * must stop.
   */
  async holdOrStop(position: number): Promise<boolean> {
    while (this.pauseRequested && !this.stopRequested) {
      this.paused?.resolve(position);
      await new Promise<void>((resolve) => (this.resumeGate = resolve));
    }
    if (this.stopRequested) {
      this.stoppedAt = position;
      this.paused?.resolve(position);
    }
    return this.stopRequested;
  }
}
