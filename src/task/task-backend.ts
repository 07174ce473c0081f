import type { BoundedWindow, Coder, Instant } from '../../coders/index.ts';
import { createKeyedStateBackend, type StateTierOptions } from '../state/index.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { State, WatermarkHoldState } from '../state/state.ts';
import type { StateInternals } from '../state/state-internals.ts';
import type { StateNamespace } from '../state/state-namespace.ts';
import type { StateTag } from '../state/state-tag.ts';
import type { TimerInternals } from '../state/timer-internals.ts';

/**
 * What the task runner needs from a keyed state backend: the KeyedStateBackend contract (which
 * includes turns as transactions and clearCurrentKey) plus current-key handles, timers, per-key
 * StateInternals and the minimum watermark hold. Internal.
 *
 * The runner runs every callback as a turn: beginTurn before it, commitTurn after it succeeded,
 * rollbackTurn after it failed, so a failed attempt's state and timer changes are undone and a retry
 * sees state as it was before the attempt (docs/beam-compat.md, "Failures and retries").
 */
export interface TaskBackend<K> extends KeyedStateBackend<K> {
  readonly timerInternals: TimerInternals<K>;
  boundState<S extends State | WatermarkHoldState>(namespace: StateNamespace, tag: StateTag<S>): S;
  stateInternalsForKey(key: K): StateInternals<K>;
  minimumWatermarkHold(): Instant | undefined;
  boundTags(): StateTag<State>[];
  encodeKeyCells(key: K): Uint8Array | undefined;
  /**
   * Under a tiered backend: the whole state into the local store, when unchanged since the last
   * capture (see HeapKeyedStateBackend.writeBack).
   */
  writeBack(): boolean;
}

export function createTaskBackend<K>(
  keyCoder: Coder<K>,
  maxKeyGroups: number,
  windowCoder: Coder<BoundedWindow> | undefined,
  tier: StateTierOptions | undefined,
): TaskBackend<K> {
  return createKeyedStateBackend({
    keyCoder,
    maxKeyGroups,
    ...(windowCoder === undefined ? {} : { windowCoder }),
    ...(tier === undefined ? {} : { tier }),
  });
}
