/** The smallest watermark: before any input reported one. */
export const WATERMARK_MIN = -Number.MAX_VALUE;

/**
 * Combines the watermarks of a stage's inputs: the stage's watermark is the minimum over its
 * active inputs; an idle input is left out until it reports a watermark again; the combined
 * watermark never moves back. With every input idle, the stage holds its watermark (and is idle).
 */
export class WatermarkTracker {
  private readonly watermarks: Float64Array;
  private readonly idle: Uint8Array;
  private current = WATERMARK_MIN;

  constructor(readonly inputs: number) {
    this.watermarks = new Float64Array(inputs).fill(WATERMARK_MIN);
    this.idle = new Uint8Array(inputs);
  }

  get watermark(): number {
    return this.current;
  }

  /** True when every input is idle. */
  get allIdle(): boolean {
    for (let i = 0; i < this.inputs; i++) if (this.idle[i] === 0) return false;
    return true;
  }

  /** Records input `input`'s watermark; returns the combined watermark when it advanced, else undefined. */
  update(input: number, watermark: number): number | undefined {
    this.idle[input] = 0;
    if (watermark > this.watermarks[input]!) this.watermarks[input] = watermark;
    return this.recompute();
  }

  /** Marks input `input` idle; returns the combined watermark when that made it advance. */
  markIdle(input: number): number | undefined {
    this.idle[input] = 1;
    return this.recompute();
  }

  /** Starts from a restored watermark (every input at least there). */
  restore(watermark: number): void {
    this.current = watermark;
    for (let i = 0; i < this.inputs; i++) if (this.watermarks[i]! < watermark) this.watermarks[i] = watermark;
  }

  private recompute(): number | undefined {
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.inputs; i++) {
      if (this.idle[i] === 0 && this.watermarks[i]! < min) min = this.watermarks[i]!;
    }
    if (min === Number.POSITIVE_INFINITY || min <= this.current) return undefined;
    this.current = min;
    return min;
  }
}
