/**
 * Interleaved A/B measurement: ours and its baseline run alternately in the same process, several
 * repetitions each, after warm-up rounds that are not counted; the median of each side is reported.
 * Interleaving matters on these shared 2-core machines: a noisy neighbour slows both sides alike.
 */
export interface Side {
  /** Runs one repetition and returns how many operations it did. */
  run(): number | Promise<number>;
}

export interface Interleaved {
  /** Median operations per second of each side. */
  readonly ours: number;
  readonly baseline: number;
  readonly ratio: number;
  readonly repetitions: number;
}

export interface MeasureOptions {
  readonly repetitions: number;
  readonly warmup: number;
  readonly onRepetition?: (done: number, total: number) => void;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The value below which `p` (0..1) of the samples fall (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

async function timed(side: Side): Promise<number> {
  const start = process.hrtime.bigint();
  const ops = await side.run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return ops / seconds;
}

export async function interleave(ours: Side, baseline: Side, options: MeasureOptions): Promise<Interleaved> {
  for (let i = 0; i < options.warmup; i++) {
    await timed(baseline);
    await timed(ours);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < options.repetitions; i++) {
    // Alternate which side goes first so neither always runs on a warmer cache.
    if (i % 2 === 0) {
      b.push(await timed(baseline));
      a.push(await timed(ours));
    } else {
      a.push(await timed(ours));
      b.push(await timed(baseline));
    }
    options.onRepetition?.(i + 1, options.repetitions);
  }
  const oursMedian = median(a);
  const baselineMedian = median(b);
  return { ours: oursMedian, baseline: baselineMedian, ratio: oursMedian / baselineMedian, repetitions: options.repetitions };
}
