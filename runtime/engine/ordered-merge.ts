import type { Outlet } from './outlet.ts';

const DATA = 0;
const WATERMARK = 1;
const IDLE = 2;

/**
 * Makes the output order of a parallel stage deterministic: what its partitions emit (data and
 * watermark/idle markers) is merged in the order of the input positions it derives from (ties: by
 * partition, then emission order). Without it, the interleaving of partitions would depend on
 * scheduling, read chunk sizes and where the last restore started; with it, a run restored from any
 * checkpoint sends the same sequence downstream (to the sink, or through a keyed exchange to the next
 * stage) as one that never stopped. Each lane's own order is kept, so each lane's watermarks still
 * hold for its data.
 *
 * A lane releases an entry once every lane has processed input past its position:
 * `progress(lane, position)` is called by each partition after each mailbox entry (watermark markers,
 * broadcast to all partitions, carry the source position, so quiet partitions progress too).
 */
export class OrderedMerge {
  private readonly kinds: number[][];
  private readonly positions: number[][];
  private readonly values: unknown[][];
  private readonly times: number[][];
  private readonly heads: Int32Array;
  private readonly progressOf: Float64Array;
  readonly lanes: Outlet[];

  constructor(
    laneCount: number,
    private readonly next: Outlet,
  ) {
    this.kinds = Array.from({ length: laneCount }, () => []);
    this.positions = Array.from({ length: laneCount }, () => []);
    this.values = Array.from({ length: laneCount }, () => []);
    this.times = Array.from({ length: laneCount }, () => []);
    this.heads = new Int32Array(laneCount);
    this.progressOf = new Float64Array(laneCount).fill(-Infinity);
    this.lanes = Array.from({ length: laneCount }, (_, lane) => this.lane(lane));
  }

  private lane(lane: number): Outlet {
    const kinds = this.kinds[lane]!;
    const positions = this.positions[lane]!;
    const values = this.values[lane]!;
    const times = this.times[lane]!;
    const push = (kind: number, value: unknown, time: number, position: number): void => {
      // Entries not derived from an input (processing-time timers, idleness) sort at the lane's
      // progress, and a lane's entries never sort before its earlier ones.
      let p = position < this.progressOf[lane]! ? this.progressOf[lane]! : position;
      const last = positions.length;
      if (last > this.heads[lane]! && positions[last - 1]! > p) p = positions[last - 1]!;
      kinds.push(kind);
      positions.push(p);
      values.push(value);
      times.push(time);
    };
    const next = this.next;
    return {
      data: (value, timestamp, position) => push(DATA, value, timestamp, position),
      watermark: (_from, watermark, position) => push(WATERMARK, undefined, watermark, position),
      idle: () => push(IDLE, undefined, 0, -1),
      get congested() {
        return next.congested;
      },
      whenUncongested: () => next.whenUncongested(),
    };
  }

  /** Lane `lane` has processed every input at or before `position`. */
  progress(lane: number, position: number): void {
    if (position <= this.progressOf[lane]!) return;
    const before = this.minProgress();
    this.progressOf[lane] = position;
    const after = this.minProgress();
    if (after > before) this.release(after);
  }

  /** Releases everything buffered (every lane is drained: a checkpoint or the end). Returns the number released. */
  flush(): number {
    return this.release(Infinity);
  }

  /** Entries buffered, not yet released. */
  get buffered(): number {
    let n = 0;
    for (let lane = 0; lane < this.positions.length; lane++) n += this.positions[lane]!.length - this.heads[lane]!;
    return n;
  }

  private minProgress(): number {
    let min = Infinity;
    for (let lane = 0; lane < this.progressOf.length; lane++)
      if (this.progressOf[lane]! < min) min = this.progressOf[lane]!;
    return min;
  }

  /**
   * Releases entries with a position below `limit` (a lane may still add entries at its own
   * progress position), or all of them when `limit` is Infinity.
   */
  private release(limit: number): number {
    const lanes = this.positions.length;
    const next = this.next;
    let released = 0;
    for (;;) {
      let best = -1;
      let bestPosition = Infinity;
      for (let lane = 0; lane < lanes; lane++) {
        const head = this.heads[lane]!;
        const positions = this.positions[lane]!;
        if (head < positions.length && positions[head]! < bestPosition) {
          bestPosition = positions[head]!;
          best = lane;
        }
      }
      if (best === -1 || !(bestPosition < limit || limit === Infinity)) break;
      // This lane's run of entries at bestPosition, in emission order.
      const kinds = this.kinds[best]!;
      const positions = this.positions[best]!;
      const values = this.values[best]!;
      const times = this.times[best]!;
      let head = this.heads[best]!;
      while (head < positions.length && positions[head] === bestPosition) {
        const kind = kinds[head];
        if (kind === DATA) next.data(values[head], times[head]!, bestPosition);
        else if (kind === WATERMARK) next.watermark(best, times[head]!, bestPosition);
        else next.idle(best);
        values[head] = undefined;
        head++;
        released++;
      }
      if (head === positions.length) {
        kinds.length = 0;
        positions.length = 0;
        values.length = 0;
        times.length = 0;
        head = 0;
      }
      this.heads[best] = head;
    }
    // Compact lanes whose consumed prefix grew large.
    for (let lane = 0; lane < lanes; lane++) {
      const head = this.heads[lane]!;
      if (head > 4096 && head * 2 > this.positions[lane]!.length) {
        this.kinds[lane]!.splice(0, head);
        this.positions[lane]!.splice(0, head);
        this.values[lane]!.splice(0, head);
        this.times[lane]!.splice(0, head);
        this.heads[lane] = 0;
      }
    }
    return released;
  }
}
