// The checkpoint procedure of a running job (one process): the cut (pause the source at a message
// boundary, let every mailbox drain, take the sinks' records, capture every partition, resume),
// then the commit in the background once the sinks made the cut's outputs durable. Also decides when a capture is not
// worth writing: nothing changed since the last checkpoint (an idle job would otherwise write one every interval: 97 in
// 20 s at 200 ms).
import type { Subject } from 'rxjs';
import type { CheckpointSnapshot, PartitionSnapshot } from '../src/checkpoint/index.ts';
import type { Pipeline } from './engine/pipeline.ts';
import type { JobCheckpoints, RestoredCheckpoint, SinkBinding, SourceBinding } from './bindings.ts';
import type { Logger } from './log.ts';
import type { RuntimeEvent } from './runtime-events.ts';
import { counted } from './counted.ts';

/** What a checkpoint covers: the pipeline and its bindings, once the run has opened them. */
export interface CheckpointParticipants {
  readonly pipeline: Pipeline;
  readonly source: SourceBinding;
  /** Whether the source is running (it is paused for the capture) or not (read to its end, stopped). */
  readonly sourceActive: () => boolean;
  readonly sink: SinkBinding;
  readonly deadLetters: SinkBinding;
  /** Inputs besides the source (the state API's command logs): paused with it, their positions recorded. */
  readonly sideInput?: SideInput;
}

/** Inputs a checkpoint records besides the source: stop taking input in while paused. */
export interface SideInput {
  /** Stops taking input in. */
  pause(): void;
  /** Once the pipeline drained while paused: the positions to record, by input name. */
  positions(): Readonly<Record<string, number>>;
  resume(): void;
  /** A checkpoint recording `inputs` (positions() among them) is committed. */
  committed?(inputs: Readonly<Record<string, number>>): void;
}

export interface CheckpointProcedureOptions {
  readonly checkpoints: JobCheckpoints;
  readonly log: Logger;
  readonly events: Subject<RuntimeEvent>;
  /** Races a wait against the job's failure (rejects with it). */
  readonly orFail: <T>(promise: Promise<T>) => Promise<T>;
  /** Fails the job (a sink that cannot make a cut durable). */
  readonly fail: (error: unknown) => void;
  /** The job's key groups per keyed stage, recorded in each checkpoint. */
  readonly maxKeyGroups?: number;
  /** Partitions of each keyed stage, recorded in each checkpoint. */
  readonly parallelism?: Readonly<Record<string, number>>;
}

/**
 * What the last written (or restored) checkpoint recorded, to tell whether a new capture adds
 * anything: input positions and every sink's record. Keyed state changes (timers included: setting,
 * deleting or firing one marks its key changed) are counted by the capture itself.
 *
 * The watermark alone does not count. Without input it moves only with the wall clock (ingestion
 * time while idle: embedded mode advances it on every poll), which a restored run re-derives the
 * same way; whatever it made happen (a timer fired, an onWatermark output) changed state or a sink
 * record and is written. Counting it would bring back a checkpoint every interval while idle.
 */
interface Recorded {
  readonly inputs: Readonly<Record<string, number>>;
  readonly sinks: Readonly<Record<string, Uint8Array>>;
}

export type CheckpointOutcome = 'written' | 'skipped' | 'failed';

export class CheckpointProcedure {
  /** Checkpoints written by this run. */
  written = 0;
  private recorded: Recorded | undefined;

  constructor(private readonly options: CheckpointProcedureOptions) {}

  /** The restored checkpoint is the baseline, so an idle restart writes nothing new. */
  restoredFrom(restored: RestoredCheckpoint): void {
    this.recorded = { inputs: restored.inputs, sinks: restored.sinks };
  }

  /**
   * A fresh start: the bindings as opened (input position, sink records) are the baseline, so a job
   * that has read and written nothing yet writes no checkpoint (it would restore to the same start).
   */
  startedFresh(inputs: Readonly<Record<string, number>>, sinks: Readonly<Record<string, Uint8Array>>): void {
    this.recorded = { inputs, sinks };
  }

  /**
   * Takes a cut and commits it (Flink's pre-commit/commit). The cut pauses the source at a message
   * boundary, drains the mailboxes (with the sink's backpressure lifted: the sink's backlog does not
   * lengthen the pause), takes each sink's cut (its record and a promise of durability) and captures
   * every partition, then resumes. The write runs while processing goes on: parts are written while
   * the sinks make the cut's outputs durable, and the manifest is committed once they are.
   *
   * `awaitWrite`: wait for the commit (the final checkpoint, on-demand ones) and throw when it
   * failed; otherwise the write runs in the background and its failure goes to the checkpoints'
   * error callback. `force`: write even when nothing changed. Resolves with what happened to the cut
   * (a background write's outcome comes later).
   */
  async run(
    participants: CheckpointParticipants,
    reason: string,
    { awaitWrite, force }: { awaitWrite: boolean; force: boolean },
  ): Promise<CheckpointOutcome> {
    const { pipeline, source, sink, deadLetters, sourceActive, sideInput } = participants;
    const { checkpoints, orFail, log } = this.options;
    const triggeredAt = Date.now();
    // At most one write in flight: a slow store (or sink) slows cuts down rather than piling them up.
    await orFail(checkpoints.ready());
    const started = Date.now();
    let paused = false;
    let snapshot: CheckpointSnapshot;
    let durable: Promise<unknown>;
    let changedKeys = 0;
    pipeline.beginCut();
    let sidePaused = false;
    try {
      let position: number;
      if (sourceActive()) {
        paused = true;
        position = await orFail(source.pause());
      } else {
        position = source.lastPosition;
      }
      sideInput?.pause();
      sidePaused = sideInput !== undefined;
      await orFail(pipeline.drainedAndFlushed());
      const sinkCut = sink.cut();
      const deadLetterCut = deadLetters.cut();
      durable = Promise.all([sinkCut.durable, deadLetterCut.durable]);
      // Awaited by the commit, or not at all (a skipped cut): a failing sink fails the job either way.
      durable.catch((error: unknown) => this.options.fail(error));
      const partitions: PartitionSnapshot[] = [];
      for (const stage of pipeline.stages) {
        for (const [partition, actor] of stage.actors.entries()) {
          partitions.push({ stage: stage.name, partition, capture: actor.runner.capture() });
        }
      }
      snapshot = {
        inputs: { [source.name]: position, ...sideInput?.positions() },
        partitions,
        sinks: { [sink.name]: sinkCut.record, [deadLetters.name]: deadLetterCut.record },
        createdAt: Date.now(),
        ...(this.options.maxKeyGroups === undefined ? {} : { maxKeyGroups: this.options.maxKeyGroups }),
        ...(this.options.parallelism === undefined ? {} : { parallelism: this.options.parallelism }),
      };
    } finally {
      pipeline.endCut();
      if (paused) source.resume();
      if (sidePaused) sideInput?.resume();
    }
    const pausedMs = Date.now() - started;
    // The captures' records are written while processing goes on (reading changedKeys first would
    // write them all on the loop). A capture that fails to settle is counted as a change: the write
    // then reports its error.
    for (const p of snapshot.partitions) {
      try {
        await p.capture.state.settle();
        changedKeys += p.capture.state.changedKeys;
      } catch {
        changedKeys++;
      }
    }
    // A capture with no changed key holds nothing the previous checkpoint lacks, so dropping it
    // loses nothing; with the same positions and sink records it would restore the same run.
    if (!force && changedKeys === 0 && this.unchanged(snapshot)) {
      log.debug(`checkpoint skipped (${reason}): nothing changed since the last one`);
      return 'skipped';
    }
    const sourceName = source.name;
    const written = checkpoints
      .start(snapshot, reason, () => durable.then(() => undefined))
      .then((result) => {
        if (result === undefined) {
          this.options.events.next({ type: 'checkpoint-failed', reason, error: checkpoints.lastError });
          return false;
        }
        this.written++;
        this.recorded = recordedOf(snapshot);
        sideInput?.committed?.(snapshot.inputs);
        const position = snapshot.inputs[sourceName] ?? -1;
        // The commit, not the deletion of unreferenced parts after it (also awaited before this).
        const durationMs = result.committedAt - triggeredAt;
        this.options.events.next({
          type: 'checkpoint',
          checkpointId: result.id,
          reason,
          kind: result.kind,
          position,
          changedKeys: result.changedKeys,
          bytesWritten: result.bytesWritten,
          durationMs,
          pausedMs,
        });
        log.info(
          `checkpoint ${result.id} (${reason}, ${result.kind}) at position ${position}: ` +
            `${counted(result.changedKeys, 'key')} changed, ${formatBytes(result.bytesWritten)}, committed ${durationMs} ms after the trigger (intake paused ${pausedMs} ms)`,
          {
            checkpointId: result.id,
            reason,
            kind: result.kind,
            position,
            changedKeys: result.changedKeys,
            bytesWritten: result.bytesWritten,
            durationMs,
            pausedMs,
          },
        );
        return true;
      });
    if (!awaitWrite) {
      // Not awaited here: a write refused outright (fenced, or the coordinator closed while a
      // scaled-out unit is abandoned) fails the run instead of rejecting unhandled (it crashed the worker).
      written.catch((error: unknown) => this.options.fail(error));
      return 'written';
    }
    if (!(await written)) throw checkpoints.lastError ?? new Error(`checkpoint (${reason}) failed`);
    return 'written';
  }

  private unchanged(snapshot: CheckpointSnapshot): boolean {
    const recorded = this.recorded;
    if (recorded === undefined) return false;
    for (const [name, position] of Object.entries(snapshot.inputs))
      if (recorded.inputs[name] !== position) return false;
    for (const [name, record] of Object.entries(snapshot.sinks ?? {})) {
      const previous = recorded.sinks[name];
      if (previous === undefined || !sameBytes(previous, record)) return false;
    }
    return true;
  }
}

function recordedOf(snapshot: CheckpointSnapshot): Recorded {
  return { inputs: snapshot.inputs, sinks: snapshot.sinks ?? {} };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
