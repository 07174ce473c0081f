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

  /** @param wake cuts short the loop's wait for input (new data, a poll, the idle timeout). */
  constructor(private readonly wake: () => void) {}

  /** True when a pause or a stop waits for the loop to reach a message boundary. */
  get interrupted(): boolean {
    return this.pauseRequested || this.stopRequested;
  }

  /** Asks the loop to halt at the next message boundary; resolves with the position it halted at. */
  pause(): Promise<number> {
    if (this.paused === undefined) {
      let resolve!: (position: number) => void;
      const promise = new Promise<number>((r) => (resolve = r));
      this.paused = { resolve, promise };
      this.pauseRequested = true;
      this.wake();
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
    const gate = this.resumeGate;
    this.resumeGate = undefined;
    gate?.();
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
    if (this.stopRequested) this.paused?.resolve(position);
    return this.stopRequested;
  }
}
