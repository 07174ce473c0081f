// The state a `stator run` of a job over a file leaves when it stops at the file's end, made without
// the run's pipeline (source, mailboxes, exchanges, sink), for benchmarks that need a large state
// fast: the job's own steps (map, flatMap, filter, keyBy) turn each line into calls of the runtime's
// task runners (jobTaskRunners, as the runtime makes them: the job's task, key coder, key groups and
// partitions), and the runtime's checkpoint code (jobCheckpoints) writes one checkpoint of their
// capture with the input position and sink records a run records. A run writes the same parts
// (test/bench/job-state-builder.test.ts); only its timestamps differ.
import { once } from 'node:events';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ByteWriter, Context } from '../../coders/index.ts';
import type { PartitionSnapshot } from '../../src/checkpoint/index.ts';
import type { TaskRunner } from '../../src/task/index.ts';
import { createFileCheckpointStore } from '../../runtime/checkpoint/index.ts';
import { encodeCommittedLength } from '../../runtime/embedded/file-bindings.ts';
import { jobCheckpoints } from '../../runtime/embedded/job-checkpoints.ts';
import type { Job, StepDefinition } from '../../runtime/job/job.ts';
import { STATE_COMMANDS_INPUT } from '../../runtime/state-api/index.ts';
import { jobTaskRunners } from '../../runtime/task-runners.ts';
import { quietLogger } from './quiet-logger.ts';

export interface BuildJobStateOptions {
  readonly job: Job;
  /** Lines of input, each ending with `\n`. */
  readonly input: string;
  /** The sink's file: the outputs, one line each. */
  readonly output: string;
  /** The run's --state-dir: must hold no checkpoint of the job. */
  readonly stateDir: string;
}

export interface BuiltJobState {
  /** Keys holding state over all partitions. */
  readonly keys: number;
  readonly outputs: number;
  readonly checkpointBytes: number;
  /** The lines through the job's steps and task runners, the output written, ms. */
  readonly processMs: number;
  /** The checkpoint's capture, write and commit, ms. */
  readonly checkpointMs: number;
}

/** The steps before a job's keyBy, applied to one message as the pipeline applies them. */
function* upstream(steps: readonly StepDefinition[], value: unknown, from: number): Iterable<unknown> {
  if (from === steps.length) {
    yield value;
    return;
  }
  const step = steps[from]!;
  if (step.kind === 'map') yield* upstream(steps, step.fn(value), from + 1);
  else if (step.kind === 'filter') {
    if (step.fn(value)) yield* upstream(steps, value, from + 1);
  } else if (step.kind === 'flatMap') for (const v of step.fn(value)) yield* upstream(steps, v, from + 1);
  else throw new Error(`buildJobState: a ${step.kind} step before keyBy is not supported`);
}

/**
 * Writes under `stateDir` the checkpoint a run of `job` (source, steps ending with keyBy and one
 * process step, sink) over `input` commits when it stops at the input's end, and the run's output
 * into `output`. Only for jobs whose task reads no processing time or timers and whose source
 * takes each line whole (every line of `input` ends with `\n`).
 */
export async function buildJobState(options: BuildJobStateOptions): Promise<BuiltJobState> {
  const { job, input, output, stateDir } = options;
  const started = performance.now();
  const keyed = job.steps.at(-1);
  const keyBy = job.steps.at(-2);
  if (keyed?.kind !== 'process' || keyBy?.kind !== 'keyBy')
    throw new Error(`buildJobState: job ${job.name} does not end with keyBy and one process step`);
  const before = job.steps.slice(0, -2);
  if (before.some((s) => s.kind === 'process' || s.kind === 'keyBy'))
    throw new Error(`buildJobState: job ${job.name} has more than one keyed step`);

  const out = createWriteStream(output);
  let outputs = 0;
  let pending: string[] = [];
  const { grouping, createRunner } = jobTaskRunners(job);
  const runners: TaskRunner<unknown, unknown, unknown>[] = [];
  for (let partition = 0; partition < keyed.parallelism; partition++) {
    const runner = createRunner(keyed, partition, (o) => {
      pending.push(job.sink.codec.encode(o.value));
      outputs++;
    }) as TaskRunner<unknown, unknown, unknown>;
    await runner.open();
    runners.push(runner);
  }
  const partitionOfGroup = Int32Array.from({ length: grouping.maxKeyGroups }, (_, kg) =>
    grouping.partitionForKeyGroup(kg, grouping.maxKeyGroups, keyed.parallelism),
  );
  const writer = new ByteWriter(64);
  const lines = createInterface({ input: createReadStream(input), crlfDelay: Infinity });
  for await (const line of lines) {
    // Ingestion time, as the file source stamps a line without a timestamp extractor.
    const now = Date.now();
    const message = job.source.codec.decode(line);
    const timestamp = job.source.timestamp?.(message) ?? now;
    for (const value of upstream(before, message, 0)) {
      const key = keyBy.fn(value);
      writer.reset();
      keyBy.keyCoder.encode(key, writer, Context.OUTER);
      const keyGroup = grouping.keyGroupFor(writer.view(), grouping.maxKeyGroups);
      const turn = runners[partitionOfGroup[keyGroup]!]!.processElement(key, value, timestamp);
      if (turn !== undefined) await turn;
    }
    if (pending.length >= 4096) {
      if (!out.write(`${pending.join('\n')}\n`)) await once(out, 'drain');
      pending = [];
    }
  }
  if (pending.length > 0) out.write(`${pending.join('\n')}\n`);
  out.end();
  await once(out, 'finish');
  const processed = performance.now();

  const now = Date.now();
  const partitions: PartitionSnapshot[] = [];
  for (const [partition, runner] of runners.entries()) {
    await runner.advanceWatermark(now);
    await runner.advanceProcessingTime(now);
    partitions.push({ stage: keyed.name, partition, capture: runner.capture() });
  }
  let fatal: unknown;
  const checkpoints = jobCheckpoints({
    store: createFileCheckpointStore({ stateDir, job: job.name }),
    jobId: job.name,
    logger: quietLogger,
    intervalMs: 60_000,
    onFatal: (error) => (fatal ??= error),
  });
  try {
    if ((await checkpoints.restoreLatest()) !== undefined)
      throw new Error(`buildJobState: ${stateDir} already holds a checkpoint of ${job.name}`);
    const written = await checkpoints.start(
      {
        // The position of the last line's `\n`, and the state API's command log, unread.
        inputs: { [job.source.name]: statSync(input).size - 1, [STATE_COMMANDS_INPUT]: 0 },
        partitions,
        sinks: {
          [job.sink.name]: encodeCommittedLength(statSync(output).size),
          'dead-letter': encodeCommittedLength(0),
        },
        createdAt: now,
        maxKeyGroups: job.maxKeyGroups,
        parallelism: { [keyed.name]: keyed.parallelism },
      },
      'stop',
    );
    if (written === undefined || fatal !== undefined)
      throw new Error('buildJobState: the checkpoint was not written', { cause: fatal ?? checkpoints.lastError });
    // No stoppedCleanly(): a run that read a bounded input to its end leaves its lease expired (the
    // input's end comes after its final checkpoint), and so does this.
    return {
      keys: runners.reduce((n, r) => n + r.keyCount, 0),
      outputs,
      checkpointBytes: written.bytesWritten,
      processMs: processed - started,
      checkpointMs: performance.now() - processed,
    };
  } finally {
    await checkpoints.close();
    for (const runner of runners) await runner.close();
  }
}
