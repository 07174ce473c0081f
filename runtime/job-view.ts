import type { Observable } from 'rxjs';
import type { SourceBinding } from './bindings.ts';

/**
 * What a running job shows of itself, read when metrics are scraped or the status page refreshes:
 * counters kept in plain fields on the hot path, so reading them costs the data path nothing.
 */
export interface JobView {
  readonly job: string;
  readonly source: SourceView;
  readonly stages: readonly StageView[];
  /** Dead letters written by this run. */
  readonly deadLetters: number;
}

/** The job's input as bound. */
export type SourceView = Pick<SourceBinding, 'name' | 'lastPosition' | 'messagesRead' | 'inputLag'>;

/** A stateful stage: its partitions. */
export interface StageView {
  readonly name: string;
  readonly partitions: readonly PartitionView[];
}

/** One partition of a stateful stage (counters since this process started the run). */
export interface PartitionView {
  readonly partition: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly retries: number;
  readonly deadLetters: number;
  readonly mailboxDepth: number;
  /** Event-time input watermark (epoch millis); -Number.MAX_VALUE before any. */
  readonly watermark: number;
  readonly keyCount: number;
}

/** How far reading is behind the end of the input: messages (a stream) or bytes (a file). */
export interface InputLag {
  readonly messages?: number;
  readonly bytes?: number;
}

/** NATS mode: the broker connection, as metrics and /readyz see it (a NatsLink is one). */
export interface ConnectionView {
  readonly state: 'connected' | 'reconnecting' | 'closed' | 'failed';
  readonly events$: Observable<{ readonly type: string }>;
}

/** Watermarks beyond the range of a JS Date (before any input, the end of input) are not times. */
const LAST_TIME_MS = 8.64e15;

/** A watermark as a time (epoch millis), or undefined before the first watermark and after the end of input. */
export function watermarkTime(watermark: number): number | undefined {
  return watermark > -LAST_TIME_MS && watermark < LAST_TIME_MS ? watermark : undefined;
}
