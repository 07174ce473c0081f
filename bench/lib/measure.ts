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
  /** ours / baseline (ratio of the medians). */
  readonly ratio: number;
  /**
   * Median of the per-repetition ratios (each repetition's pair ran back to back): less sensitive
   * to a slow phase of the machine than the ratio of the medians. Reported next to it.
   */
  readonly pairedRatio: number;
  readonly repetitions: number;
  /** Every repetition's rate, for the record. */
  readonly oursSamples: readonly number[];
  readonly baselineSamples: readonly number[];
}

export interface MeasureOptions {
  readonly repetitions: number;
  readonly warmup: number;
  readonly onRepetition?: (done: number, total: number) => void;
  /** Stops between repetitions (throws the signal's reason) when aborted. */
  readonly signal?: AbortSignal;
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

/** Milliseconds since `from` (a `process.hrtime.bigint()` reading). */
export function elapsedMs(from: bigint): number {
  return Number(process.hrtime.bigint() - from) / 1e6;
}

async function rate(side: Side): Promise<number> {
  const start = process.hrtime.bigint();
  const ops = await side.run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return ops / seconds;
}

/** Runs ours and the baseline alternately; medians of operations per second. */
export async function interleave(ours: Side, baseline: Side, options: MeasureOptions): Promise<Interleaved> {
  return alternate(
    () => rate(ours),
    () => rate(baseline),
    options,
  );
}

/** {@link interleave}'s result with a reference side measured right after ours in every repetition. */
export interface InterleavedWithReference extends Interleaved {
  /** Median operations per second of the reference side. */
  readonly reference: number;
  readonly referenceSamples: readonly number[];
  /** Median of the per-repetition ours / reference (each pair back to back). */
  readonly pairedToReference: number;
}

/**
 * Like {@link interleave}, with a third side (e.g. the cheapest request of the same server) run right
 * after ours in every repetition, warm-up included: ours / reference is then paired in time as ours /
 * baseline is, instead of comparing medians taken in different phases of a shared machine.
 */
export async function interleaveWithReference(
  ours: Side,
  baseline: Side,
  reference: Side,
  options: MeasureOptions,
): Promise<InterleavedWithReference> {
  const referenceSamples: number[] = [];
  const measured = await alternate(
    async () => {
      const rateOfOurs = await rate(ours);
      referenceSamples.push(await rate(reference));
      return rateOfOurs;
    },
    () => rate(baseline),
    options,
  );
  const counted = referenceSamples.slice(options.warmup);
  return {
    ...measured,
    reference: median(counted),
    referenceSamples: counted,
    pairedToReference: median(measured.oursSamples.map((o, i) => o / counted[i]!)),
  };
}

/** A side whose repetitions are timed by the caller (e.g. excluding setup): returns milliseconds. */
export interface TimedSide {
  run(): number | Promise<number>;
}

export interface InterleavedMs {
  /** Median milliseconds of each side. */
  readonly ours: number;
  readonly baseline: number;
  /** ours / baseline. */
  readonly ratio: number;
  readonly pairedRatio: number;
  readonly repetitions: number;
  readonly oursSamples: readonly number[];
  readonly baselineSamples: readonly number[];
}

/** Like {@link interleave} for durations: each side returns the milliseconds it measured itself. */
export async function interleaveMs(
  ours: TimedSide,
  baseline: TimedSide,
  options: MeasureOptions,
): Promise<InterleavedMs> {
  return alternate(
    async () => ours.run(),
    async () => baseline.run(),
    options,
  );
}

async function alternate(
  ours: () => Promise<number>,
  baseline: () => Promise<number>,
  options: MeasureOptions,
): Promise<Interleaved> {
  for (let i = 0; i < options.warmup; i++) {
    options.signal?.throwIfAborted();
    await baseline();
    await ours();
  }
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < options.repetitions; i++) {
    options.signal?.throwIfAborted();
    // Alternate which side goes first so neither always runs on a warmer cache.
    if (i % 2 === 0) {
      b.push(await baseline());
      a.push(await ours());
    } else {
      a.push(await ours());
      b.push(await baseline());
    }
    ratios.push(a[i]! / b[i]!);
    options.onRepetition?.(i + 1, options.repetitions);
  }
  const oursMedian = median(a);
  const baselineMedian = median(b);
  return {
    ours: oursMedian,
    baseline: baselineMedian,
    ratio: oursMedian / baselineMedian,
    pairedRatio: median(ratios),
    repetitions: options.repetitions,
    oursSamples: a,
    baselineSamples: b,
  };
}
