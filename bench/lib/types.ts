/** What one metric reports: ours (`value`), the baseline run in the same process, and their ratio. */
export interface MetricResult {
  readonly value: number;
  readonly unit: string;
  readonly baseline: number;
  readonly baselineUnit?: string;
  /** value / baseline, unless the metric defines it otherwise (then `ratioMeaning` says how). */
  readonly ratio: number;
  /** How `ratio` is computed when it is not value / baseline. */
  readonly ratioMeaning?: string;
  /** Free text shown under the table: sizes, repetitions, what quick mode shrank. */
  readonly note?: string;
  /** Further numbers written to the JSON (samples, secondary measurements); not in the table. */
  readonly details?: Readonly<Record<string, number | string | readonly number[]>>;
}

/** A goal on one field of the result: `ratio >= 0.33`, `value <= 20`... */
export interface Goal {
  readonly field: 'ratio' | 'value';
  readonly op: '>=' | '<=';
  readonly target: number;
}

export interface BenchContext {
  /** Smaller sizes and fewer repetitions: the whole quick run stays under a minute. */
  readonly quick: boolean;
  /** Reports progress of this metric in [0, 1] (drawn as a bar on a TTY). */
  progress(fraction: number): void;
  /**
   * Aborted when the metric exceeds its time limit: stop measuring, clean up (servers, temp
   * directories, children) and return or throw.
   */
  readonly signal: AbortSignal;
}

export interface Metric {
  readonly name: string;
  readonly description: string;
  readonly goal?: Goal;
  /**
   * The time limit of a full run, ms, for a metric that needs longer than the suite's default (600 s);
   * `--time-limit` overrides it.
   */
  readonly fullTimeLimitMs?: number;
  run(ctx: BenchContext): Promise<MetricResult>;
}

/** How far a result is from its goal: >= 1 means met, whichever the direction. */
export function goalScore(goal: Goal, result: MetricResult): number {
  const actual = goal.field === 'ratio' ? result.ratio : result.value;
  if (goal.op === '>=') return actual / goal.target;
  return actual === 0 ? Number.POSITIVE_INFINITY : goal.target / actual;
}
