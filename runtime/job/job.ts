import type { Coder } from '../../coders/index.ts';
import type { MessageCodec } from './codecs.ts';
import type { TaskFactory } from './task-factory.ts';

/** Extracts the event time (epoch millis) of a message. */
export type TimestampExtractor<T> = (message: T) => number;

/**
 * A logical input of a job: a name the runtime binds to a transport (embedded: the `--input` file;
 * NATS: a subject) and the codec of its messages.
 */
export interface SourceDefinition<T> {
  readonly kind: 'source';
  readonly name: string;
  readonly codec: MessageCodec<T>;
  /**
   * Event time of each message. Without it, event time is ingestion time: the wall clock when
   * the runtime read the message (watermark = that time), so event-time timers fire on ingestion
   * order and replays after a crash see new times.
   */
  readonly timestamp: TimestampExtractor<T> | undefined;
  /** How late (millis) a message may arrive behind the greatest event time seen. @default 0 */
  readonly maxOutOfOrdernessMs: number;
  /**
   * Recognizes explicit watermark messages: returns the watermark (epoch millis) for a message
   * that is a watermark (it is not processed as data), undefined for data.
   */
  readonly watermark: ((message: T) => number | undefined) | undefined;
  /**
   * NATS mode, scaled out: the input is pre-partitioned into this many subjects `<job>.<name>.<p>`
   * (p in 0..partitions-1), each read by its own unit; undefined: the one subject `<job>.<name>`.
   */
  readonly partitions?: number;
}

/** A logical output of a job: bound by the runtime (embedded: the `--output` file; NATS: a subject). */
export interface SinkDefinition<T> {
  readonly kind: 'sink';
  readonly name: string;
  readonly codec: MessageCodec<T>;
}

/** A step between the source and the sink. Stateless steps run fused into the step before them. */
export type StepDefinition =
  | { readonly kind: 'map'; readonly name: string; readonly fn: (value: unknown) => unknown }
  | { readonly kind: 'flatMap'; readonly name: string; readonly fn: (value: unknown) => Iterable<unknown> }
  | { readonly kind: 'filter'; readonly name: string; readonly fn: (value: unknown) => boolean }
  | {
      readonly kind: 'keyBy';
      readonly name: string;
      readonly fn: (value: unknown) => unknown;
      readonly keyCoder: Coder<unknown>;
    }
  | {
      readonly kind: 'process';
      readonly name: string;
      readonly factory: TaskFactory<unknown, unknown, unknown>;
      readonly parallelism: number;
      readonly keyCoder: Coder<unknown>;
    };

/**
 * A job: one source, a chain of steps, one sink. Built with `defineJob(...)`, exported from a job
 * module (default export or `export const job`), run by `stator run`.
 */
export interface Job {
  /** Marks a value as a job, so a module's exports can be recognized. */
  readonly kind: 'stator.job';
  readonly name: string;
  /** Key groups per keyed stage: fixed for the job's lifetime (state moves between partitions by key group). */
  readonly maxKeyGroups: number;
  readonly source: SourceDefinition<unknown>;
  readonly steps: readonly StepDefinition[];
  readonly sink: SinkDefinition<unknown>;
}

export function isJob(value: unknown): value is Job {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'stator.job';
}
