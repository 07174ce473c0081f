import type { TaskOutput, TaskRunner } from '../../src/task/task-runner.ts';
import { JobDefinitionError } from '../errors.ts';
import type { Job, StepDefinition } from '../job/job.ts';
import { KeyRouter } from './key-router.ts';
import type { KeyGrouping, PartitionInbox } from './key-router.ts';
import { EntryKind } from './mailbox.ts';
import { statelessOutlet } from './outlet.ts';
import type { DeadLetterReceiver, Outlet } from './outlet.ts';
import { OrderedMerge } from './ordered-merge.ts';
import { PartitionActor } from './partition-actor.ts';
import { SinkGate } from './sink-gate.ts';
import type { ActorHost } from './partition-actor.ts';
import type { TurnTimer } from './turn-timer.ts';

export type ProcessStep = Extract<StepDefinition, { kind: 'process' }>;

/** Makes the runner of one partition of a stateful stage; `output` receives what the task emits. */
export type RunnerFactory = (
  step: ProcessStep,
  partition: number,
  output: (output: TaskOutput<unknown, unknown>) => void,
) => TaskRunner<unknown, unknown, unknown>;

export interface PipelineOptions {
  readonly job: Job;
  readonly grouping: KeyGrouping;
  readonly createRunner: RunnerFactory;
  /** The job's sink, bound by the runtime. */
  readonly sink: Outlet;
  readonly deadLetter: DeadLetterReceiver;
  readonly mailboxCapacity: number;
  readonly batchSize: number;
  readonly maxRetries: number;
  /** An actor hit an unrecoverable error. */
  readonly onFailure: (error: unknown) => void;
  /** Times a sample of turns (metrics on). */
  readonly turnTimer?: TurnTimer | undefined;
  /**
   * Runs one partition of each stateful stage instead of all of them: the one unit of a job that a
   * worker of a scaled-out job runs (its input holds that partition's messages only).
   */
  readonly onlyPartition?: number;
  /**
   * Upstream inputs of the first stateful stage, whose watermarks combine: 1 for a source read by
   * this pipeline; the number of upstream units when the input is a keyed exchange. @default 1
   */
  readonly sourceInputs?: number;
}

/** A stateful stage as instantiated: its partitions (all of them, or the one of a unit). */
export interface StageInstance {
  readonly name: string;
  /** The stage's partition count (key groups are split into this many ranges). */
  readonly parallelism: number;
  readonly actors: readonly PartitionActor<unknown, unknown, unknown>[];
}

/**
 * The job's steps as a running graph in one process: stateless steps fused into whatever feeds
 * them, keyed exchanges routing to partition actors, and the sink at the end. `entry` is where the
 * source pushes its messages.
 */
export class Pipeline implements ActorHost {
  readonly entry: Outlet;
  readonly stages: readonly StageInstance[];
  pending = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(private readonly options: PipelineOptions) {
    const { job } = options;
    // The builder guarantees this shape; a hand-made Job could break it and lose messages silently.
    job.steps.forEach((step, i) => {
      if (step.kind === 'process' && job.steps[i - 1]?.kind !== 'keyBy') {
        throw new JobDefinitionError(
          `job ${job.name}: stage ${step.name} must follow a keyBy (build jobs with defineJob)`,
        );
      }
    });
    const stages: StageInstance[] = [];
    this.sinkGate = new SinkGate(options.sink);
    // Built back to front: each step gets the outlet of the step after it.
    let outlet: Outlet = this.sinkGate;
    const steps = job.steps;
    // Inputs of each process stage: the parallelism of the stage before it (1 for the source).
    const inputsOf = new Map<ProcessStep, number>();
    let upstream = options.sourceInputs ?? 1;
    for (const step of steps) {
      if (step.kind === 'process') {
        inputsOf.set(step, upstream);
        upstream = step.parallelism;
      }
    }
    let pendingActors: PartitionActor<unknown, unknown, unknown>[] | undefined;
    const merges: OrderedMerge[] = [];
    for (let i = steps.length - 1; i >= 0; i--) {
      const step = steps[i]!;
      switch (step.kind) {
        case 'process': {
          const actors: PartitionActor<unknown, unknown, unknown>[] = [];
          const only = options.onlyPartition;
          if (only !== undefined && !(Number.isInteger(only) && only >= 0 && only < step.parallelism)) {
            throw new JobDefinitionError(
              `job ${job.name}: stage ${step.name} has no partition ${only} (parallelism ${step.parallelism})`,
            );
          }
          // A parallel stage's partitions merge in input order, so what goes downstream (to the
          // sink or the next exchange) does not depend on scheduling (see OrderedMerge). A unit's
          // single partition needs no merge.
          const merge =
            step.parallelism > 1 && only === undefined ? new OrderedMerge(step.parallelism, outlet) : undefined;
          if (merge !== undefined) merges.unshift(merge);
          for (let partition = only ?? 0; partition < (only === undefined ? step.parallelism : only + 1); partition++) {
            let actor: PartitionActor<unknown, unknown, unknown> | undefined;
            const runner = options.createRunner(step, partition, (output) => actor!.receive(output));
            actor = new PartitionActor(
              {
                stage: step.name,
                partition,
                inputs: inputsOf.get(step)!,
                mailboxCapacity: options.mailboxCapacity,
                batchSize: options.batchSize,
                maxRetries: options.maxRetries,
                turnTimer: options.turnTimer,
              },
              runner,
              merge === undefined ? outlet : merge.lanes[partition]!,
              options.deadLetter,
              this,
            );
            if (merge !== undefined) actor.progress = (position) => merge.progress(partition, position);
            actors.push(actor);
          }
          stages.unshift({ name: step.name, parallelism: step.parallelism, actors });
          pendingActors = actors;
          outlet = {
            data: () => {},
            watermark: () => {},
            idle: () => {},
            congested: false,
            whenUncongested: () => Promise.resolve(),
          };
          break;
        }
        case 'keyBy': {
          if (pendingActors === undefined) {
            // keyBy not followed by process: routing has no effect in one process; pass through.
            break;
          }
          const inboxes: PartitionInbox[] =
            options.onlyPartition === undefined
              ? pendingActors
              : foreignPartitions(
                  steps[i + 1]?.name ?? step.name,
                  pendingActors[0]!,
                  options.onlyPartition,
                  stageParallelism(steps, i),
                  options.deadLetter,
                );
          outlet = new KeyRouter(step.name, step.fn, step.keyCoder, options.grouping, inboxes, options.deadLetter);
          pendingActors = undefined;
          break;
        }
        default:
          outlet = statelessOutlet(step, outlet, options.deadLetter);
      }
    }
    this.entry = outlet;
    this.stages = stages;
    this.merges = merges;
  }

  private readonly merges: readonly OrderedMerge[];
  private readonly sinkGate: SinkGate;

  /**
   * A checkpoint's cut begins: the sink's backpressure is lifted until `endCut()`, so pausing the
   * source and draining the mailboxes takes as long as processing what they hold, however far
   * behind the sink is (see SinkGate).
   */
  beginCut(): void {
    this.sinkGate.lift();
  }

  endCut(): void {
    this.sinkGate.restore();
  }

  /**
   * Resolves once everything read has gone all the way through: every mailbox empty, no turn under
   * way, and nothing held in an ordered merge (flushing a merge can give the next stage work, so
   * this alternates until both hold). Call with the source paused (a checkpoint, the end).
   */
  async drainedAndFlushed(): Promise<void> {
    for (;;) {
      await this.drained();
      let released = 0;
      // Upstream first: its release may feed a merge further down.
      for (const merge of this.merges) released += merge.flush();
      if (released === 0) return;
    }
  }

  /** Every partition of every stage. */
  *actors(): Iterable<PartitionActor<unknown, unknown, unknown>> {
    for (const stage of this.stages) yield* stage.actors;
  }

  /** Sends a processing-time tick to every partition (fires due processing-time timers). */
  tickProcessingTime(now: number): void {
    for (const actor of this.actors()) actor.enqueue(EntryKind.PROCESSING_TIME, undefined, undefined, now, -1);
  }

  /** Resolves once every mailbox is empty and no turn is under way. */
  drained(): Promise<void> {
    if (this.isQuiescent()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  actorIdle(): void {
    if (!this.isQuiescent()) return;
    // Every input read so far is processed: what an ordered merge still holds (the outputs of the
    // last input, waiting for a lane to pass its position) can go now, as at a checkpoint's cut,
    // instead of waiting for the next input or checkpoint. Later entries sort after them anyway.
    for (const merge of this.merges) merge.flush();
    if (this.drainWaiters.length === 0 || !this.isQuiescent()) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  fail(error: unknown): void {
    this.stop();
    this.options.onFailure(error);
  }

  /** Stops every actor: nothing more is processed (after a failure). */
  stop(): void {
    for (const actor of this.actors()) actor.stop();
  }

  private isQuiescent(): boolean {
    if (this.pending !== 0) return false;
    for (const actor of this.actors()) if (actor.busy) return false;
    return true;
  }
}

function stageParallelism(steps: readonly StepDefinition[], keyByIndex: number): number {
  const next = steps[keyByIndex + 1];
  return next?.kind === 'process' ? next.parallelism : 1;
}

/**
 * The inboxes a unit's key router sees: its own partition's actor, and in every other slot an inbox
 * that refuses data. A message keyed to another partition reached this unit only if the exchange
 * routed with another layout (maxKeyGroups or parallelism changed under running producers): it is a
 * dead letter that says so, never silently processed by the wrong owner.
 */
function foreignPartitions(
  stage: string,
  own: PartitionInbox,
  ownPartition: number,
  parallelism: number,
  deadLetter: DeadLetterReceiver,
): PartitionInbox[] {
  const inboxes: PartitionInbox[] = [];
  for (let partition = 0; partition < parallelism; partition++) {
    if (partition === ownPartition) {
      inboxes.push(own);
      continue;
    }
    inboxes.push({
      enqueue(kind, key, value, _timestamp, position) {
        if (kind !== EntryKind.DATA) return;
        deadLetter({
          stage,
          partition: ownPartition,
          position,
          attempts: 1,
          key,
          value,
          error: new JobDefinitionError(
            `a message keyed to partition ${partition} of ${stage} reached partition ${ownPartition}: the exchange was routed with another ` +
              'partition layout (was maxKeyGroups or the parallelism changed while old messages were in flight?)',
          ),
        });
      },
      isFull: () => false,
      whenWritable: () => Promise.resolve(),
    });
  }
  return inboxes;
}
