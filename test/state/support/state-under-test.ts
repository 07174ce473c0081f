// The two ways to reach a state cell, so every kind is tested through both: a StateInternals of
// one key, and a backend handle bound to the current key (with keys switched and captures taken
// between operations, which must not change what the handle sees).
import { StringUtf8Coder, VarLongCoder } from '../../../coders/index.ts';
import { tinyTieredBackend } from './local-store.ts';
import {
  createKeyedStateBackend,
  InMemoryStateInternals,
  StateNamespaces,
  StateTags,
  type State,
  type StateTag,
} from '../../../src/state/index.ts';

export interface StateUnderTest<S> {
  readonly name: string;
  readonly state: S;
  /** Something that must not affect the state: another key's writes, a capture. */
  disturb(step: number): void;
}

export function statesUnderTest<S extends State>(tag: StateTag<S>): StateUnderTest<S>[] {
  const internals = InMemoryStateInternals.forKey('k');
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  const bound = backend.boundState(StateNamespaces.global(), tag);
  backend.setCurrentKey('k');
  // The disk backend with room for one key: each disturbance evicts 'k' to the local store.
  const tiered = tinyTieredBackend(StringUtf8Coder.of());
  const tieredBound = tiered.boundState(StateNamespaces.global(), tag);
  const otherValue = tiered.boundState(StateNamespaces.global(), StateTags.value('other-value', VarLongCoder.of()));
  tiered.setCurrentKey('k');
  return [
    { name: 'InMemoryStateInternals', state: internals.state(StateNamespaces.global(), tag), disturb: () => {} },
    {
      name: 'backend handle',
      state: bound,
      disturb(step) {
        if (step % 3 === 0) backend.captureChanges();
        if (step % 5 === 0) {
          backend.setCurrentKey(`other-${step}`);
          (bound as unknown as { clear(): void }).clear();
          backend.setCurrentKey('k');
        }
      },
    },
    {
      name: 'disk backend handle',
      state: tieredBound,
      disturb(step) {
        if (step % 3 === 0) tiered.captureChanges();
        tiered.setCurrentKey(`other-${step % 4}`);
        otherValue.write(step);
        tiered.beginTurn();
        tiered.commitTurn();
        tiered.setCurrentKey('k');
      },
    },
  ];
}
