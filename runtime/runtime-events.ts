/** What a running job reports, besides its lifecycle (also logged, one line each). */
export type RuntimeEvent =
  | {
      readonly type: 'restored';
      readonly checkpointId: number | undefined;
      /** When the restored checkpoint was captured (epoch millis); undefined without one. */
      readonly createdAt: number | undefined;
      readonly position: number;
    }
  | {
      readonly type: 'checkpoint';
      readonly checkpointId: number;
      readonly reason: string;
      readonly kind: 'full' | 'incremental';
      readonly position: number;
      readonly changedKeys: number;
      readonly bytesWritten: number;
      readonly durationMs: number;
      /** How long intake was paused for the capture. */
      readonly pausedMs: number;
    }
  | { readonly type: 'throughput'; readonly messagesPerSecond: number; readonly messagesRead: number; readonly deadLetters: number };

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
