// The contract between a worker group and the process that runs its units. The group decides which
// units this worker owns (runtime/group/worker-group.ts); the host restores, runs and stops them.

/**
 * The right of one worker to run one unit. `revision` is the KV revision of the unit's lease entry:
 * it grows with every change of owner, so it is the fencing token a unit passes to its writes (a
 * checkpoint commit or an exchange publish made under an older revision must be refused).
 */
export interface UnitLease {
  readonly unit: string;
  readonly worker: string;
  readonly revision: number;
}

/** How far an owned unit got, as `stator status` shows it. Every field optional: a host says what it knows. */
export interface UnitProgress {
  /** The input position processed last (a stream sequence). */
  readonly position?: number;
  /** Messages waiting behind `position`. */
  readonly lag?: number;
  /** The unit's output watermark, epoch milliseconds. */
  readonly watermark?: number;
  /** The last checkpoint the unit committed. */
  readonly lastCheckpoint?: { readonly id: number | string; readonly at: string };
}

/** A unit's failures in a row as the group records them (docs/scale-out.md, "A unit that fails"). */
export interface UnitFailure {
  readonly failures: number;
  /** Why it failed last, and where. */
  readonly error: string;
  readonly worker: string;
  readonly at: string;
  /** No worker starts it until an operator clears the record. */
  readonly failed: boolean;
}

/**
 * What runs the units a worker owns. The group calls these one at a time per unit: `start`, then
 * either `stop` (a graceful handover) or `abandon` (the lease was lost). `abandon` may come while a
 * `start` or `stop` is still pending: the host must then give the unit up at once; how that pending
 * promise settles no longer matters.
 */
export interface UnitHost {
  /**
   * Restores `unit` from its checkpoint and starts processing it under `lease` (its revision fences
   * the unit's writes). Resolves once the unit runs; rejects when it cannot: the group then releases
   * the lease, logs why, and tries again later.
   */
  start(unit: string, lease: UnitLease): Promise<void>;
  /**
   * A graceful handover (rebalance or leave): stop the unit after a final checkpoint. The group
   * deletes the lease once this resolves, so the next owner restores exactly that checkpoint. When it
   * rejects, or has not settled after 12 lease TTLs, the group abandons the unit and releases the
   * lease anyway: the next owner replays from the last checkpoint that did commit.
   */
  stop(unit: string): Promise<void>;
  /**
   * The lease is lost (it expired while this process stalled, or another worker holds it now): give
   * the unit up at once and write nothing more for it. Synchronous on purpose: nothing may happen
   * between the group noticing and the host stopping.
   */
  abandon(unit: string, reason: string): void;
  /** How far an owned unit got, published with the worker's heartbeats for `stator status`. */
  describe?(unit: string): UnitProgress | undefined;
  /** The group's record of a unit's failures changed (undefined: cleared), for metrics. */
  failuresChanged?(unit: string, failure: UnitFailure | undefined): void;
}
