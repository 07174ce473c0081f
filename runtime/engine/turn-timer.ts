/**
 * Times a sample of turns (metrics on): every `sampleEvery`-th data turn of a partition is timed
 * and its duration handed to `record`. Sampling keeps the clock reads off most turns, so timing
 * costs next to nothing on a hot path of a few hundred nanoseconds per turn.
 */
export interface TurnTimer {
  /** Times one data turn in this many (a power of two). */
  readonly sampleEvery: number;
  /** A sampled turn of `stage` took `seconds` (asynchronous turns: until their promise settled). */
  record(stage: string, seconds: number): void;
}
