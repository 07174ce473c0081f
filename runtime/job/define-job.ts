import { DEFAULT_MAX_KEY_GROUPS } from '../../src/state/index.ts';
import type { Coder } from '../../coders/index.ts';
import { JobDefinitionError } from '../errors.ts';
import { jsonCodec, linesCodec } from './codecs.ts';
import type { MessageCodec } from './codecs.ts';
import type { Job, SinkDefinition, SourceDefinition, StepDefinition, TimestampExtractor } from './job.ts';
import type { TaskFactory } from './task-factory.ts';

/** Options of `defineJob`. */
export interface JobOptions {
  /** The job's name: names its checkpoints (and, in NATS mode, its streams and buckets). */
  readonly name: string;
  /** Key groups per keyed stage, fixed for the job's lifetime. @default 128 */
  readonly maxKeyGroups?: number;
}

/** Options of a source. */
export interface SourceOptions<T> {
  /** The logical input's name. @default 'in' */
  readonly name?: string;
  /** Event time of a message; without it event time is ingestion time. */
  readonly timestamp?: TimestampExtractor<T>;
  /** @default 0 */
  readonly maxOutOfOrdernessMs?: number;
  /** Recognizes explicit watermark messages (returns their watermark; undefined for data). */
  readonly watermark?: (message: T) => number | undefined;
  /**
   * NATS mode with `--scale-out`: the input is pre-partitioned into `<job>.<name>.0` ...
   * `<job>.<name>.<partitions-1>` (producers pick the subject with `partitionOf` from `stator/client`),
   * one unit reading each. `stator run --input-partitions` overrides it. Default: one subject `<job>.<name>`.
   */
  readonly partitions?: number;
}

/** Options of a keyed processing stage. */
export interface ProcessOptions {
  /** The stage's name: its state is checkpointed under it, so keep it stable. @default `process-<n>` */
  readonly name?: string;
  /** Number of partitions (actors) of the stage. @default 1 */
  readonly parallelism?: number;
}

/** A source of lines of text (one message per line). */
export function lines(options: SourceOptions<string> = {}): SourceDefinition<string> {
  return source(linesCodec(), options);
}

/** A source of JSON documents, one per line. */
export function jsonLines<T = unknown>(options: SourceOptions<T> = {}): SourceDefinition<T> {
  return source(jsonCodec<T>(), options);
}

/** A source with any codec. */
export function source<T>(codec: MessageCodec<T>, options: SourceOptions<T> = {}): SourceDefinition<T> {
  const maxOutOfOrdernessMs = options.maxOutOfOrdernessMs ?? 0;
  if (!(maxOutOfOrdernessMs >= 0))
    throw new JobDefinitionError(`maxOutOfOrdernessMs must be >= 0, got ${maxOutOfOrdernessMs}`);
  const partitions = options.partitions;
  if (partitions !== undefined && !(Number.isSafeInteger(partitions) && partitions >= 1))
    throw new JobDefinitionError(`source partitions must be an integer >= 1, got ${partitions}`);
  return {
    kind: 'source',
    name: options.name ?? 'in',
    codec,
    timestamp: options.timestamp,
    maxOutOfOrdernessMs,
    watermark: options.watermark,
    ...(partitions === undefined ? {} : { partitions }),
  };
}

/** A sink writing each output as one JSON document per line. */
export function json<T = unknown>(name = 'out'): SinkDefinition<T> {
  return { kind: 'sink', name, codec: jsonCodec<T>() };
}

/** A sink writing each output as a line of text (`String(value)`). */
export function text<T = unknown>(name = 'out'): SinkDefinition<T> {
  return { kind: 'sink', name, codec: linesCodec() as unknown as MessageCodec<T> };
}

/** A stream of values of type T, between a source and a sink. */
export interface Stream<T> {
  map<U>(fn: (value: T) => U, name?: string): Stream<U>;
  flatMap<U>(fn: (value: T) => Iterable<U>, name?: string): Stream<U>;
  filter(fn: (value: T) => boolean, name?: string): Stream<T>;
  /** Routes each value by its key: key → key group (hash of the key coder's bytes) → partition. */
  keyBy<K>(fn: (value: T) => K, keyCoder: Coder<K>, name?: string): KeyedStream<T, K>;
  /** Ends the job: every value goes to `sink`. */
  sink(sink: SinkDefinition<T>): Job;
}

/** A stream keyed by K: ready for a stateful stage. */
export interface KeyedStream<T, K> {
  /**
   * A stateful stage: each partition runs its own task instance from `factory`, one message at a time per partition.
   */
  process<Out>(factory: TaskFactory<T, Out, K>, options?: ProcessOptions): Stream<Out>;
}

/** Starts a job definition: `defineJob({ name }).source(lines())...sink(json())`. */
export function defineJob(options: JobOptions): { source<T>(source: SourceDefinition<T>): Stream<T> } {
  if (typeof options?.name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(options.name)) {
    throw new JobDefinitionError(`job name must be letters, digits, '-' or '_', got ${JSON.stringify(options?.name)}`);
  }
  const maxKeyGroups = options.maxKeyGroups ?? DEFAULT_MAX_KEY_GROUPS;
  if (!Number.isInteger(maxKeyGroups) || maxKeyGroups < 1 || maxKeyGroups > 32768) {
    throw new JobDefinitionError(`maxKeyGroups must be an integer in 1..32768, got ${maxKeyGroups}`);
  }
  return {
    source<T>(src: SourceDefinition<T>): Stream<T> {
      // Checked here, as sink() is: a source that is not one (`lines` uncalled) would otherwise run and
      // dead-letter every message with a TypeError.
      if ((src as { kind?: unknown } | undefined)?.kind !== 'source')
        throw new JobDefinitionError(
          `job ${options.name}: source() takes a source such as lines() or jsonLines()${calledHint(src)}`,
        );
      return new StreamBuilder<T>(options.name, maxKeyGroups, src as SourceDefinition<unknown>, []);
    },
  };
}

/** `; got lines itself: pass lines()` when a function (or class) was passed where what it makes was meant. */
function calledHint(value: unknown, call = ''): string {
  if (value === undefined) return '; got nothing';
  if (typeof value !== 'function') return '';
  return value.name === '' ? '; got a function' : `; got ${value.name} itself: pass ${value.name}${call}()`;
}

// Immutable builder: each call returns a new builder, so a partial chain can be reused safely.
class StreamBuilder<T> implements Stream<T> {
  constructor(
    private readonly jobName: string,
    private readonly maxKeyGroups: number,
    private readonly src: SourceDefinition<unknown>,
    private readonly steps: readonly StepDefinition[],
  ) {}

  private with<U>(step: StepDefinition): StreamBuilder<U> {
    const taken = this.steps.some((s) => s.name === step.name);
    if (taken)
      throw new JobDefinitionError(
        `job ${this.jobName}: two steps are named ${JSON.stringify(step.name)}; give each a unique name`,
      );
    return new StreamBuilder<U>(this.jobName, this.maxKeyGroups, this.src, [...this.steps, step]);
  }

  private defaultName(kind: string): string {
    return `${kind}-${this.steps.filter((s) => s.kind === kind).length + 1}`;
  }

  map<U>(fn: (value: T) => U, name?: string): Stream<U> {
    return this.with<U>({ kind: 'map', name: name ?? this.defaultName('map'), fn: fn as (value: unknown) => unknown });
  }

  flatMap<U>(fn: (value: T) => Iterable<U>, name?: string): Stream<U> {
    return this.with<U>({
      kind: 'flatMap',
      name: name ?? this.defaultName('flatMap'),
      fn: fn as (value: unknown) => Iterable<unknown>,
    });
  }

  filter(fn: (value: T) => boolean, name?: string): Stream<T> {
    return this.with<T>({
      kind: 'filter',
      name: name ?? this.defaultName('filter'),
      fn: fn as (value: unknown) => boolean,
    });
  }

  keyBy<K>(fn: (value: T) => K, keyCoder: Coder<K>, name?: string): KeyedStream<T, K> {
    if (typeof (keyCoder as Partial<Coder<K>> | undefined)?.verifyDeterministic !== 'function')
      throw new JobDefinitionError(
        `job ${this.jobName}: keyBy(fn, keyCoder) takes the key's coder as its second argument, ` +
          `e.g. StringUtf8Coder.of()${calledHint(keyCoder, '.of')}`,
      );
    try {
      keyCoder.verifyDeterministic();
    } catch (err) {
      throw new JobDefinitionError(
        `job ${this.jobName}: keyBy needs a deterministic key coder (keys are compared by their bytes)`,
        { cause: err },
      );
    }
    const keyed = this.with<T>({
      kind: 'keyBy',
      name: name ?? this.defaultName('keyBy'),
      fn: fn as (value: unknown) => unknown,
      keyCoder: keyCoder as Coder<unknown>,
    });
    return {
      process: <Out>(factory: TaskFactory<T, Out, K>, opts: ProcessOptions = {}): Stream<Out> => {
        const parallelism = opts.parallelism ?? 1;
        if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > this.maxKeyGroups) {
          throw new JobDefinitionError(
            `job ${this.jobName}: parallelism must be an integer in 1..maxKeyGroups (${this.maxKeyGroups}), got ${parallelism}`,
          );
        }
        if (typeof factory !== 'function')
          throw new JobDefinitionError(`job ${this.jobName}: process() takes a factory, e.g. () => new MyTask()`);
        return keyed.with<Out>({
          kind: 'process',
          name: opts.name ?? keyed.defaultName('process'),
          factory: factory as TaskFactory<unknown, unknown, unknown>,
          parallelism,
          keyCoder: keyCoder as Coder<unknown>,
        });
      },
    };
  }

  sink(sink: SinkDefinition<T>): Job {
    if (sink?.kind !== 'sink')
      throw new JobDefinitionError(
        `job ${this.jobName}: sink() takes a sink such as json() or text()${calledHint(sink)}`,
      );
    return Object.freeze({
      kind: 'stator.job',
      name: this.jobName,
      maxKeyGroups: this.maxKeyGroups,
      source: this.src,
      steps: this.steps,
      sink: sink as SinkDefinition<unknown>,
    });
  }
}
