import type { Instant } from '../../coders/index.ts';
import type { HoldListener } from './cell.ts';
import { Heap } from './heap.ts';

/**
 * The multiset of watermark holds of all keys of a backend, so the minimum hold is O(1) to read
 * (amortized O(log n) per hold change): counts per timestamp plus a heap of timestamps, where a
 * timestamp whose count fell to zero is dropped lazily when it reaches the top.
 */
export class WatermarkHoldIndex implements HoldListener {
  private readonly counts = new Map<Instant, number>();
  private readonly heap = new Heap<Instant>((a, b) => a < b);

  holdChanged(previous: Instant | undefined, next: Instant | undefined): void {
    if (previous !== undefined) {
      const c = this.counts.get(previous) ?? 0;
      if (c <= 1) this.counts.delete(previous);
      else this.counts.set(previous, c - 1);
    }
    if (next !== undefined) {
      const c = this.counts.get(next) ?? 0;
      this.counts.set(next, c + 1);
      if (c === 0) this.heap.push(next);
    }
    if (this.heap.size > 64 && this.heap.size > 2 * this.counts.size) this.heap.retain((t) => this.counts.has(t));
  }

  /** The earliest hold of any key, or undefined when no key holds the watermark. */
  minimum(): Instant | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || this.counts.has(top)) return top;
      this.heap.pop();
    }
  }
}
