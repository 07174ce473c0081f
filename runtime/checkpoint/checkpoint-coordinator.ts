import type { Instant } from '../../coders/index.ts';
import type {
  CheckpointReason,
  CheckpointSnapshot,
  Checkpoints,
  CheckpointTriggerOptions,
  WriteResult,
} from '../../src/checkpoint/index.ts';
import { CheckpointInProgressError, CheckpointTrigger, FencedError } from '../../src/checkpoint/index.ts';

/** Lifecycle of a coordinator. */
export type CoordinatorState = 'idle' | 'writing' | 'failed' | 'closed';

/** Options of `createCheckpointCoordinator`. */
export interface CheckpointCoordinatorOptions {
  readonly checkpoints: Checkpoints;
  /** When to checkpoint (see CheckpointTrigger). */
  readonly trigger?: CheckpointTriggerOptions;
  /** The watermark restored from the checkpoint, so the first boundary lies above it. */
  readonly initialWatermark?: Instant;
  /** Renew the job's lease this often while running (0: never, e.g. when no lease is held). @default 10000 */
  readonly leaseRenewIntervalMs?: number;
  /** Called after each committed checkpoint. */
  readonly onCheckpoint?: (result: WriteResult, reason: CheckpointReason) => void;
  /** Called when a write or lease renewal fails; a FencedError also moves the coordinator to 'failed'. */
  readonly onError?: (error: unknown) => void;
}

/** Options of one `start`. */
export interface StartOptions {
  readonly reason: CheckpointReason;
  /** The job watermark the snapshot was captured at; default: the minimum over its partitions. */
  readonly watermark?: Instant;
  /** Awaited before the manifest commit, e.g. until the outputs the snapshot covers are acknowledged. */
  readonly beforeCommit?: () => Promise<void>;
}

/**
 * What the runtime calls to checkpoint: the trigger policy plus the asynchronous write pipeline.
 *
 * Between two turns of the processing loop the runtime does:
 *
 *     const reason = coordinator.due(watermark);
 *     if (reason) { await coordinator.ready(); coordinator.start(captureAll(), { reason }); }
 *
 * Capturing is O(changed keys) on the loop; encoding, compaction and writing run in the background
 * while processing continues. At most one checkpoint is in flight: when the store is slower than the
 * trigger, `ready()` makes the next capture wait (backpressure), so snapshots never pile up in memory.
 */
export interface CheckpointCoordinator {
  readonly state: CoordinatorState;
  /** Whether a checkpoint is being written. */
  readonly inFlight: boolean;
  /** Why a checkpoint is due now, or undefined. */
  due(watermark: Instant): CheckpointReason | undefined;
  /** Resolves when no checkpoint is in flight. Rejects with the FencedError once fenced. */
  ready(): Promise<void>;
  /**
   * Starts writing a captured snapshot in the background and returns its completion (which also
   * goes to onCheckpoint/onError; awaiting it is optional: it never rejects).
   * @throws CheckpointInProgressError when one is in flight (await `ready()` first).
   */
  start(snapshot: CheckpointSnapshot, options: StartOptions): Promise<WriteResult | undefined>;
  /** Asks for a checkpoint at the next `due` check. */
  request(): void;
  /** Graceful stop: `due` says 'stop' from now on. */
  requestStop(): void;
  /** The last write failure, cleared by the next success. */
  readonly lastError: unknown;
  /** Stops lease renewal and waits for the in-flight write. Idempotent. */
  close(): Promise<void>;
}

class Coordinator implements CheckpointCoordinator {
  state: CoordinatorState = 'idle';
  lastError: unknown = undefined;
  private readonly checkpoints: Checkpoints;
  private readonly trigger: CheckpointTrigger;
  private readonly onCheckpoint: CheckpointCoordinatorOptions['onCheckpoint'];
  private readonly onError: CheckpointCoordinatorOptions['onError'];
  private current: Promise<WriteResult | undefined> | undefined;
  private fenced: FencedError | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;

  constructor(options: CheckpointCoordinatorOptions) {
    this.checkpoints = options.checkpoints;
    this.trigger = new CheckpointTrigger(options.trigger, options.initialWatermark);
    this.onCheckpoint = options.onCheckpoint;
    this.onError = options.onError;
    const renewMs = options.leaseRenewIntervalMs ?? 10_000;
    if (renewMs > 0) {
      this.renewTimer = setInterval(() => this.renew(), renewMs);
      this.renewTimer.unref();
    }
  }

  get inFlight(): boolean {
    return this.current !== undefined;
  }

  private renew(): void {
    if (this.renewing !== undefined || this.state === 'failed' || this.state === 'closed') return;
    this.renewing = this.checkpoints
      .renewLease()
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.renewing = undefined;
      });
  }

  private fail(error: unknown): void {
    if (error instanceof FencedError) {
      this.fenced = error;
      this.state = 'failed';
      this.stopRenewing();
    }
    this.lastError = error;
    this.onError?.(error);
  }

  private stopRenewing(): void {
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  due(watermark: Instant): CheckpointReason | undefined {
    if (this.state === 'failed' || this.state === 'closed') return undefined;
    return this.trigger.check(watermark);
  }

  async ready(): Promise<void> {
    if (this.current !== undefined) await this.current;
    if (this.fenced !== undefined) throw this.fenced;
  }

  start(snapshot: CheckpointSnapshot, options: StartOptions): Promise<WriteResult | undefined> {
    if (this.fenced !== undefined) return Promise.reject(this.fenced);
    if (this.state === 'closed') return Promise.reject(new Error('checkpoint coordinator is closed'));
    if (this.current !== undefined) throw new CheckpointInProgressError();
    let watermark = options.watermark;
    if (watermark === undefined) {
      for (const p of snapshot.partitions)
        if (watermark === undefined || p.capture.watermark < watermark) watermark = p.capture.watermark;
    }
    // Recorded at capture: the trigger's next boundary follows what this snapshot covers.
    this.trigger.checkpointed(watermark ?? -Infinity);
    this.state = 'writing';
    const write = this.checkpoints.write(
      snapshot,
      options.beforeCommit === undefined ? {} : { beforeCommit: options.beforeCommit },
    );
    const current = write.then(
      (result) => {
        this.lastError = undefined;
        try {
          this.onCheckpoint?.(result, options.reason);
        } catch (error) {
          this.onError?.(error);
        }
        return result;
      },
      (error: unknown) => {
        this.fail(error);
        return undefined;
      },
    );
    this.current = current.finally(() => {
      this.current = undefined;
      if (this.state === 'writing') this.state = 'idle';
    });
    return this.current;
  }

  request(): void {
    this.trigger.request();
  }

  requestStop(): void {
    this.trigger.requestStop();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.stopRenewing();
    if (this.current !== undefined) await this.current;
    if (this.renewing !== undefined) await this.renewing;
    this.state = 'closed';
  }
}

/** Creates the coordinator of one job's checkpoints. */
export function createCheckpointCoordinator(options: CheckpointCoordinatorOptions): CheckpointCoordinator {
  return new Coordinator(options);
}
