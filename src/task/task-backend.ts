import type { BoundedWindow, Coder, Instant } from '../../coders/index.ts';
import { createKeyedStateBackend } from '../state/index.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { State, WatermarkHoldState } from '../state/state.ts';
import type { StateInternals } from '../state/state-internals.ts';
import type { StateNamespace } from '../state/state-namespace.ts';
import type { StateTag } from '../state/state-tag.ts';
import type { TimerInternals } from '../state/timer-internals.ts';

/**
 * What the task runner needs from a keyed state backend: the KeyedStateBackend contract plus
 * current-key handles, timers, per-key StateInternals and the minimum watermark hold. Internal.
 */
export interface TaskBackend<K> extends KeyedStateBackend<K> {
  readonly timerInternals: TimerInternals<K>;
  boundState<S extends State | WatermarkHoldState>(namespace: StateNamespace, tag: StateTag<S>): S;
  stateInternalsForKey(key: K): StateInternals<K>;
  minimumWatermarkHold(): Instant | undefined;
}

/**
 * Per-turn transactions, when the backend offers them: `beginTurn` before a callback, `commitTurn`
 * after it succeeded, `rollbackTurn` after it failed (undoing its state and timer changes).
 */
export interface TurnTransactions {
  readonly supported: boolean;
  beginTurn(): void;
  commitTurn(): void;
  rollbackTurn(): void;
}

const NO_TRANSACTIONS: TurnTransactions = {
  supported: false,
  beginTurn() {},
  commitTurn() {},
  rollbackTurn() {},
};

export function createTaskBackend<K>(keyCoder: Coder<K>, maxKeyGroups: number, windowCoder: Coder<BoundedWindow> | undefined): TaskBackend<K> {
  return createKeyedStateBackend(windowCoder === undefined ? { keyCoder, maxKeyGroups } : { keyCoder, maxKeyGroups, windowCoder });
}

/**
 * The backend's turn transactions, feature-detected: the in-memory backend does not offer them yet,
 * so a failed callback's state changes are kept (documented in docs/beam-compat.md).
 */
export function turnTransactionsOf(backend: TaskBackend<unknown>): TurnTransactions {
  const b = backend as unknown as Partial<Record<'beginTurn' | 'commitTurn' | 'rollbackTurn', () => void>>;
  if (typeof b.beginTurn === 'function' && typeof b.commitTurn === 'function' && typeof b.rollbackTurn === 'function') {
    return {
      supported: true,
      beginTurn: b.beginTurn.bind(backend),
      commitTurn: b.commitTurn.bind(backend),
      rollbackTurn: b.rollbackTurn.bind(backend),
    };
  }
  return NO_TRANSACTIONS;
}
