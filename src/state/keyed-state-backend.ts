import type { Coder } from '../../coders/index.ts';

/**
 * CONTRACT between the state API (src/state), the checkpoint format (src/checkpoint) and the runtime.
 *
 * A KeyedStateBackend holds all keyed state of one partition of one stage (one actor): for every key,
 * the two-level table namespace × tag → cell. The runtime sets the current key before each turn; the
 * handles a task obtained in open() then read and write that key's cells.
 *
 * Checkpoints take only what changed: `captureChanges()` is O(keys changed since the last capture),
 * never O(all state), and what it returns is immune to anything the processing loop does afterwards
 * (no aliasing of user objects, no live collections). Encoding is deferred: the records are written
 * while processing goes on (`settle()`), and a captured key is written before the task next uses it.
 *
 * Restore is lazy per key group: the checkpoint reader hands over each key group's parts, and the
 * backend decodes a key group the first time one of its keys (or an iteration over all keys) needs it,
 * so restoring a large state costs about what reading its bytes costs.
 */
export interface KeyedStateBackend<K> {
  readonly keyCoder: Coder<K>;
  /**
   * Total key groups (fixed for the job's lifetime, e.g. 128): a key's group is a stable hash of its key-coder bytes.
   */
  readonly maxKeyGroups: number;

  /** Sets the key whose state the bound handles see. Hot path: one Map lookup for a known key. */
  setCurrentKey(key: K): void;
  /** The current key; throws a StateError when no key is in scope. */
  getCurrentKey(): K;
  /**
   * Leaves no key in scope (the runner calls it around open(), onWatermark() and close()): bound
   * handles and timers then throw a StateError instead of acting on whichever key came last.
   */
  clearCurrentKey(): void;

  /**
   * Opens a turn (one callback of the task) as a transaction: until commitTurn or rollbackTurn,
   * every state and timer change is journaled. The task runner wraps every callback in a turn.
   * @throws StateError when a turn is already open.
   */
  beginTurn(): void;
  /** Keeps the open turn's changes. */
  commitTurn(): void;
  /**
   * Undoes every state and timer change since beginTurn, newest first, so a retried message sees
   * state as it was before the failed attempt (one visible difference: a Set/Map/Multimap key removed
   * and restored moves to the end of the iteration order). No-op without an open turn.
   */
  rollbackTurn(): void;

  /** Keys that currently hold any state (materializing any key groups still pending from a restore). */
  keys(): Iterable<K>;

  /**
   * How many keys hold state, without materializing anything (for metrics): the keys in memory plus
   * those of restored key groups not used yet. An estimate between checkpoints: a key whose state
   * was cleared counts until the next capture; a restored key overwritten by a newer part may count twice.
   */
  readonly keyCount: number;

  /**
   * What changed since the previous capture (or since restore/creation), grouped by key group, and
   * resets change tracking. O(keys changed), a flag per key: the records are written afterwards (see
   * CapturedChanges.settle). The result does not change when processing continues.
   */
  captureChanges(): CapturedChanges;

  /**
   * Hands over restored state for one key group: `chain` is the encoded key-group parts oldest first
   * (a base then increments); later entries for a key replace earlier ones, a tombstone deletes.
   * Must be called before any key is used (before open()). Decoding happens lazily.
   */
  restoreKeyGroup(keyGroup: number, chain: readonly Uint8Array[]): void;
}

/**
 * The changes captured by one `captureChanges()` call. Its records may still be being written when
 * captureChanges returns: `settle()` writes them in slices that yield to the event loop; reading
 * `changedKeys`, `keyGroups` or calling `encodeKeyGroup` first writes whatever is left at once.
 */
export interface CapturedChanges {
  /**
   * Resolves when every record is written (then the members below are cheap). Rejects with a
   * StateError naming the state when a value does not encode with its coder: the capture is then
   * void (its members throw that error), every key of it is changed again in the backend so the
   * next capture holds it, and a caller keeping captures to retry a write must drop this one.
   */
  settle(): Promise<void>;
  /** Number of keys whose state changed (including deleted ones). */
  readonly changedKeys: number;
  /** Key groups that have changes, ascending. */
  readonly keyGroups: readonly number[];
  /**
   * Encodes the changes of one key group as a self-contained part (the format is the backend's own,
   * opaque to the checkpoint layer, read back by `restoreKeyGroup`). May be called off the processing
   * loop and at any later time; calling it twice gives the same bytes.
   */
  encodeKeyGroup(keyGroup: number): Uint8Array;
}

/**
 * Compacts a key group's chain of parts (oldest first) into one equivalent part: for each key the
 * newest entry wins, tombstones are dropped. Pure bytes-in, bytes-out (no coders needed), so the
 * checkpoint layer can run it off the processing loop to write a full checkpoint.
 * Implemented next to the part format in src/state; declared here as the contract.
 */
export type MergeKeyGroupParts = (chain: readonly Uint8Array[], options?: MergeOptions) => Uint8Array;

export interface MergeOptions {
  /**
   * Keep tombstones in the merged part: the chain is only the newer end of a key group's chain, and
   * its tombstones must still delete the keys of the older segments it is restored on. @default false
   */
  readonly keepTombstones?: boolean;
}

// Bound handles and timers, used by src/task (the runner and StatefulTask.state()/timer()), are
// declared on the implementation, HeapKeyedStateBackend (src/state/heap-keyed-state-backend.ts,
// made by createKeyedStateBackend):
//
//   backend.boundState(namespace, tag): S
//       a handle whose every call acts on the key current at that call (Beam's "current key"
//       handles, as a Flink keyed state handle); cheap to call, meant to be obtained once in open().
//   backend.stateInternalsForKey(key): StateInternals<K>   (Beam's StateInternalsFactory)
//   backend.timerInternals: TimerInternals<K>  (src/state/timer-internals.ts; Beam runners-core's name)
//       setTimer(TimerData) for the current key (or timer.key), deleteTimer, getTimer,
//       removeNextDueTimer(domain, upTo) — inclusive of upTo, earliest first, ties in set order —
//       nextTimerTimestamp(domain), minimumOutputTimestamp().
//       Timers are captured and restored with the key's state (eagerly on restore), so they
//       survive checkpoints.
//   backend.minimumWatermarkHold(): the earliest WatermarkHoldState hold over all keys.
// Turns (beginTurn/commitTurn/rollbackTurn above) are part of the contract; captureChanges() runs
// between turns only (settle() may run any time: it writes only keys nothing touched since).
