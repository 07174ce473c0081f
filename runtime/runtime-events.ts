/** What a running job reports, besides its lifecycle (also logged, one line each). */
export type RuntimeEvent =
  | {
      readonly type: 'restored';
      /** NATS mode: the unit that restored (a worker runs several; the whole job is unit `main`). */
      readonly unit?: string;
      readonly checkpointId: number | undefined;
      /** When the restored checkpoint was captured (epoch millis); undefined without one. */
      readonly createdAt: number | undefined;
      readonly position: number;
      /** How long restoring took: reading the checkpoint, restoring the partitions, opening input and output. */
      readonly durationMs: number;
      /** Bytes of checkpoint parts read. */
      readonly bytesRead: number;
    }
  | {
      readonly type: 'checkpoint';
      readonly checkpointId: number;
      readonly reason: string;
      readonly kind: 'full' | 'incremental';
      readonly position: number;
      readonly changedKeys: number;
      readonly bytesWritten: number;
      /** From the trigger to the manifest committed (the sinks' outputs before the cut durable). */
      readonly durationMs: number;
      /** How long intake was paused for the cut (state, positions and sink records captured). */
      readonly pausedMs: number;
    }
  | {
      readonly type: 'throughput';
      readonly messagesPerSecond: number;
      readonly messagesRead: number;
      readonly deadLetters: number;
    }
  /**
   * A scaled-out job's record of a unit's failures in a row changed (docs/scale-out.md, "A unit that
   * fails"): `failures` 0 once forgotten or cleared; `failed` once no worker starts it any more.
   */
  | { readonly type: 'unit-failures'; readonly unit: string; readonly failures: number; readonly failed: boolean }
  /** A checkpoint write failed; its changes go into the next one (a fenced write fails the job instead). */
  | { readonly type: 'checkpoint-failed'; readonly reason: string; readonly error: unknown }
  | {
      readonly type: 'dead-letter';
      readonly stage: string;
      readonly partition: number | undefined;
      readonly position: number;
      readonly attempts: number;
      readonly error: unknown;
      /** Epoch millis. */
      readonly at: number;
    };

/** How a run ended. */
export interface RunResult {
  /** `completed`: a bounded input was processed to its end; `stopped`: stop() was called. */
  readonly reason: 'completed' | 'stopped';
  readonly messagesRead: number;
  readonly deadLetters: number;
  /** Checkpoints written by this run (captures with nothing new since the last checkpoint are not written). */
  readonly checkpoints: number;
  readonly restoredCheckpoint: number | undefined;
}
