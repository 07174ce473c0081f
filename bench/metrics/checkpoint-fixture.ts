// What the checkpoint metrics share: a heap backend with `n` keys of ValueState<number>, a file
// checkpoint store (fsync on, as in production) in a temp directory, and a full checkpoint of it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import {
  createCheckpoints,
  type Checkpoints,
  type CheckpointSnapshot,
  type WriteResult,
} from '../../src/checkpoint/index.ts';
import {
  createKeyedStateBackend,
  mergeKeyGroupParts,
  StateNamespaces,
  StateTags,
  type CapturedChanges,
  type HeapKeyedStateBackend,
  type ValueState,
} from '../../src/state/index.ts';
import { createFileCheckpointStore, type FileCheckpointStore } from '../../runtime/checkpoint/index.ts';

export const STAGE = 's';
export const JOB = 'bench';
export const keyCoder = StringUtf8Coder.of();
export const COUNT = StateTags.value('count', VarLongCoder.of());

export interface CheckpointFixture extends Disposable {
  readonly keys: number;
  readonly dir: string;
  /** The populated backend; throws after releaseState(). */
  readonly backend: HeapKeyedStateBackend<string>;
  readonly count: ValueState<number | bigint>;
  /**
   * Drops the fixture's reference to its backend, so a restore measured afterwards runs without the
   * original's million keys in the heap (a restarting process has no such heap to trace in its GCs).
   */
  releaseState(): void;
  readonly store: FileCheckpointStore;
  readonly checkpoints: Checkpoints;
  /** The full checkpoint written after populating. */
  readonly full: WriteResult;
  readonly populateMs: number;
  snapshot(capture: CapturedChanges, position: number): CheckpointSnapshot;
  /** A fresh store handle + checkpoint service on the same directory (what a restarted process opens). */
  reopen(): Checkpoints;
}

export interface CheckpointFixtureOptions {
  /**
   * Compact as the runtime does by default (a key group's chain merged once its increments reach its
   * base's bytes, chains of at most 8 segments); otherwise every write is an increment, so
   * increments are measured alone.
   */
  readonly compaction?: boolean;
}

/** `key-${i}` → i for i < keys, then a full checkpoint. Removes its directory on dispose. */
export async function openCheckpointFixture(
  keys: number,
  options: CheckpointFixtureOptions = {},
): Promise<CheckpointFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'stator-bench-checkpoint-'));
  try {
    let backend: HeapKeyedStateBackend<string> | undefined = createKeyedStateBackend({ keyCoder });
    const count = backend.boundState(StateNamespaces.global(), COUNT);
    const started = process.hrtime.bigint();
    for (let i = 0; i < keys; i++) {
      backend.setCurrentKey(`key-${i}`);
      count.write(i);
    }
    const populateMs = Number(process.hrtime.bigint() - started) / 1e6;
    const store = createFileCheckpointStore({ stateDir: dir, job: JOB });
    const checkpoints = createCheckpoints(
      store,
      options.compaction === true
        ? { jobId: JOB, mergeKeyGroupParts }
        : // Compaction by size needs a ratio no chain reaches, and by length a bound none reaches.
          { jobId: JOB, mergeKeyGroupParts, compactionRatio: 1e9, maxChainLength: 1000, retain: 2 },
    );
    const snapshot = (capture: CapturedChanges, position: number): CheckpointSnapshot => ({
      inputs: { in: position },
      partitions: [{ stage: STAGE, partition: 0, capture: { state: capture, watermark: 0, processingTime: 0 } }],
    });
    const full = await checkpoints.write(snapshot(backend.captureChanges(), 0));
    return {
      keys,
      dir,
      get backend(): HeapKeyedStateBackend<string> {
        if (backend === undefined) throw new Error('checkpoint fixture: state released');
        return backend;
      },
      releaseState: () => {
        backend = undefined;
      },
      count,
      store,
      checkpoints,
      full,
      populateMs,
      snapshot,
      reopen: () =>
        createCheckpoints(createFileCheckpointStore({ stateDir: dir, job: JOB }), { jobId: JOB, mergeKeyGroupParts }),
      [Symbol.dispose]() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The keys changed in interval `round`: 1% of all, spread over every key group, different each round. */
export function changedKey(round: number, j: number, keys: number): string {
  return `key-${(j * 97 + round * 7919) % keys}`;
}
