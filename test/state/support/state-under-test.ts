// The two ways to reach a state cell, so every kind is tested through both: a StateInternals of
// one key, and a backend handle bound to the current key (with keys switched and captures taken
// between operations, which must not change what the handle sees).
import { StringUtf8Coder } from '../../../coders/index.ts';
import {
  createKeyedStateBackend,
  InMemoryStateInternals,
  StateNamespaces,
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
  ];
}
