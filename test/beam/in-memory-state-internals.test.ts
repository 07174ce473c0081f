// A port of Apache Beam's runners-core InMemoryStateInternalsTest (StandardStateInternalsTests runs
// StateInternalsTest; OtherTests.testSameInstance), plus StateInternalsTest on the runtime's two
// other ways to reach one key's state: a backend's stateInternalsForKey, and the current-key handles
// a task gets from this.state() (through a StateInternals view with the key in scope).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StringUtf8Coder, VarIntCoder } from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  InMemoryStateInternals,
  StateTags,
  TimestampCombiner,
  type State,
  type StateInternals,
  type StateNamespace,
  type StateTag,
} from '../../src/state/index.ts';
import { Sum } from './binary-combine-integer-fn.ts';
import { stateInternalsTest } from './state-internals-test.ts';
import { StateNamespaceForTest } from './state-namespace-for-test.ts';

// StandardStateInternalsTests
stateInternalsTest('InMemoryStateInternals', () => InMemoryStateInternals.forKey('dummyKey'));

stateInternalsTest('HeapKeyedStateBackend.stateInternalsForKey', () =>
  createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() }).stateInternalsForKey('dummyKey'),
);

stateInternalsTest('HeapKeyedStateBackend.boundState (current-key handles)', () => {
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  backend.setCurrentKey('dummyKey');
  return {
    getKey: () => 'dummyKey',
    state: <S extends State>(namespace: StateNamespace, tag: StateTag<S>): S => backend.boundState(namespace, tag),
  } satisfies StateInternals<string>;
});

// OtherTests
const OtherTests = suite('InMemoryStateInternalsTest.OtherTests');
const NAMESPACE = new StateNamespaceForTest('ns');
const STRING_VALUE_ADDR = StateTags.value('stringValue', StringUtf8Coder.of());
const SUM_INTEGER_ADDR = StateTags.combiningValueFromInputInternal('sumInteger', VarIntCoder.of(), Sum.ofIntegers());
const STRING_BAG_ADDR = StateTags.bag('stringBag', StringUtf8Coder.of());
const STRING_SET_ADDR = StateTags.set('stringSet', StringUtf8Coder.of());
const STRING_MAP_ADDR = StateTags.map('stringMap', StringUtf8Coder.of(), VarIntCoder.of());
const WATERMARK_EARLIEST_ADDR = StateTags.watermarkStateInternal('watermark', TimestampCombiner.EARLIEST);

OtherTests('testSameInstance', () => {
  const underTest: StateInternals = InMemoryStateInternals.forKey('dummyKey');
  const assertSameInstance = <T extends State>(address: StateTag<T>): void => {
    assert.is(underTest.state(NAMESPACE, address), underTest.state(NAMESPACE, address));
  };
  assertSameInstance(STRING_VALUE_ADDR);
  assertSameInstance(SUM_INTEGER_ADDR);
  assertSameInstance(STRING_BAG_ADDR);
  assertSameInstance(STRING_SET_ADDR);
  assertSameInstance(STRING_MAP_ADDR);
  assertSameInstance(WATERMARK_EARLIEST_ADDR);
});

OtherTests.run();
