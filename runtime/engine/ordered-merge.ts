import type { Outlet } from './outlet.ts';

/**
 * Makes the output order of a parallel stage deterministic: the outputs of its partitions are
 * merged in the order of the input positions they derive from (ties: by partition, then emission
 * order). Without it, the interleaving of partitions would depend on scheduling, read chunk sizes
 * and where the last restore started; with it, a run restored from any checkpoint writes the same
 * bytes as one that never stopped.
 *
 * A partition's lane releases an output once every lane has processed input past its position:
 * `progress(lane, position)` is called by each partition after each mailbox entry (watermark markers,
 * broadcast to all partitions, carry the source position, so quiet partitions progress too).
 */
export class OrderedMerge {
  private readonly positions: number[][];
  private readonly values: unknown[][];
  private readonly timestamps: number[][];
  private readonly heads: Int32Array;
  private readonly progressOf: Float64Array;
  readonly lanes: Outlet[];

  constructor(
    laneCount: number,
    private readonly next: Outlet,
  ) {
    this.positions = Array.from({ length: laneCount }, () => []);
    this.values = Array.from({ length: laneCount }, () => []);
    this.timestamps = Array.from({ length: laneCount }, () => []);
    this.heads = new Int32Array(laneCount);
    this.progressOf = new Float64Array(laneCount).fill(-Infinity);
    this.lanes = Array.from({ length: laneCount }, (_, lane) => this.lane(lane));
  }

  private lane(lane: number): Outlet {
    const positions = this.positions[lane]!;
    const values = this.values[lane]!;
    const timestamps = this.timestamps[lane]!;
    const next = this.next;
    return {
      data: (value, timestamp, position) => {
        // Outputs not derived from an input (processing-time timers) sort at the lane's progress.
        const p = this.progressOf[lane]!;
        positions.push(position < p ? p : position);
        values.push(value);
        timestamps.push(timestamp);
      },
      watermark: (from, watermark, position) => next.watermark(from, watermark, position),
      idle: (from) => next.idle(from),
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

  /** Releases everything buffered (all lanes are drained: a checkpoint or the end). */
  flush(): void {
    this.release(Infinity);
  }

  /** Outputs buffered, not yet released. */
  get buffered(): number {
    let n = 0;
    for (let lane = 0; lane < this.positions.length; lane++) n += this.positions[lane]!.length - this.heads[lane]!;
    return n;
  }

  private minProgress(): number {
    let min = Infinity;
    for (let lane = 0; lane < this.progressOf.length; lane++) if (this.progressOf[lane]! < min) min = this.progressOf[lane]!;
    return min;
  }

  /** Releases outputs with a position below `limit` (all at `limit` too when it is Infinity): a lane may still add at its progress. */
  private release(limit: number): void {
    const lanes = this.positions.length;
    const next = this.next;
    for (;;) {
      let best = -1;
      let bestPosition = Infinity;
      for (let lane = 0; lane < lanes; lane++) {
        const head = this.heads[lane]!;
        const positions = this.positions[lane]!;
        if (head < positions.length) {
          const position = positions[head]!;
          if (position < bestPosition) {
            bestPosition = position;
            best = lane;
          }
        }
      }
      if (best === -1 || !(bestPosition < limit || limit === Infinity)) break;
      // Emit this lane's run of outputs at bestPosition (same position: emission order).
      const positions = this.positions[best]!;
      const values = this.values[best]!;
      const timestamps = this.timestamps[best]!;
      let head = this.heads[best]!;
      while (head < positions.length && positions[head] === bestPosition) {
        next.data(values[head], timestamps[head]!, bestPosition);
        values[head] = undefined;
        head++;
      }
      if (head === positions.length) {
        positions.length = 0;
        values.length = 0;
        timestamps.length = 0;
        head = 0;
      }
      this.heads[best] = head;
    }
    // Compact lanes whose consumed prefix grew large.
    for (let lane = 0; lane < lanes; lane++) {
      const head = this.heads[lane]!;
      if (head > 4096 && head * 2 > this.positions[lane]!.length) {
        this.positions[lane]!.splice(0, head);
        this.values[lane]!.splice(0, head);
        this.timestamps[lane]!.splice(0, head);
        this.heads[lane] = 0;
      }
    }
  }
}
