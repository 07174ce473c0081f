// When state command logs publish: together, once per turn of the event loop.
import { Utf8Slab } from '../nats/utf8-slab.ts';

/**
 * Where command logs schedule their publishes: the flushes asked for during one turn of the event
 * loop run together in one setImmediate, so nats.js writes the batches of every log sharing it to
 * the socket at once (one write instead of one per partition).
 */
export class PublishTurn {
  private due: (() => void)[] = [];
  /** Where the logs sharing the turn encode their messages' payloads and headers (views never written again). */
  readonly slab = new Utf8Slab();

  schedule(flush: () => void): void {
    this.due.push(flush);
    if (this.due.length === 1) setImmediate(this.run);
  }

  private readonly run = (): void => {
    const due = this.due;
    this.due = [];
    for (const flush of due) flush();
  };
}
