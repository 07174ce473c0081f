// Beam's ReadableState rules (deferred reads vs answers at the call) and handle identity, on every
// way to reach state: InMemoryStateInternals, a backend's stateInternalsForKey, current-key handles.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KV, KvCoder, ListCoder, StringUtf8Coder, TimestampedValue, VarLongCoder } from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  InMemoryStateInternals,
  StateNamespaces,
  StateTags,
  TimestampCombiner,
  type CombineFn,
  type State,
  type StateTag,
} from '../../src/state/index.ts';
import { statesUnderTest } from './support/state-under-test.ts';

const str = StringUtf8Coder.of();
const sum: CombineFn<number, number[], number> = {
  createAccumulator: () => [0],
  addInput: (a, x) => [a[0]! + x],
  mergeAccumulators: (accs) => [[...accs].reduce((t, a) => t + a[0]!, 0)],
  extractOutput: (a) => a[0]!,
};
const TAGS = {
  value: StateTags.value('v', str),
  bag: StateTags.bag('b', str),
  set: StateTags.set('s', str),
  map: StateTags.map('m', str, VarLongCoder.of()),
  multimap: StateTags.multimap('mm', str, VarLongCoder.of()),
  orderedList: StateTags.orderedList('ol', str),
  combining: StateTags.combiningValue('c', ListCoder.of(VarLongCoder.of()), sum),
  watermark: StateTags.watermarkStateInternal('w', TimestampCombiner.EARLIEST),
};

test('isEmpty() of every kind is deferred: obtained before an add, read() sees it; after a clear, empty again', () => {
  const adds: [StateTag<any>, (s: any) => void][] = [
    [TAGS.bag, (s) => s.add('x')],
    [TAGS.set, (s) => s.add('x')],
    [TAGS.map, (s) => s.put('x', 1)],
    [TAGS.multimap, (s) => s.put('x', 1)],
    [TAGS.orderedList, (s) => s.add(TimestampedValue.of('x', 5))],
    [TAGS.combining, (s) => s.add(1)],
    [TAGS.watermark, (s) => s.add(5)],
  ];
  for (const [tag, add] of adds) {
    for (const { name, state } of statesUnderTest(tag)) {
      const empty = (state as any).isEmpty();
      assert.is(empty.read(), true, `${tag.id} ${name}`);
      add(state);
      assert.is(empty.read(), false, `${tag.id} ${name}`);
      assert.is(empty.readLater(), empty, 'readLater returns the same ReadableState');
      (state as State).clear();
      assert.is(empty.read(), true, `${tag.id} ${name}`);
    }
  }
});

test('map get/getOrDefault/keys/values/entries are deferred; putIfAbsent/computeIfAbsent answer at the call', () => {
  for (const { name, state } of statesUnderTest(TAGS.map)) {
    const get = state.get('a');
    const dflt = state.getOrDefault('a', -1);
    const keys = state.keys();
    const values = state.values();
    const entries = state.entries();
    assert.is(get.read(), null, name);
    assert.is(dflt.read(), -1, name);
    state.put('a', 1);
    assert.is(get.read(), 1, name);
    assert.is(dflt.read(), 1, name);
    assert.equal([...keys.read()], ['a'], name);
    assert.equal([...values.read()], [1], name);
    assert.equal([...entries.read()], [['a', 1]], name);
    const before = state.putIfAbsent('b', 2);
    const computed = state.computeIfAbsent('c', () => 3);
    const present = state.putIfAbsent('a', 9);
    state.remove('b');
    state.remove('c');
    state.remove('a');
    assert.is(before.read(), null, `${name}: the value before the call`);
    assert.is(computed.read(), null, name);
    assert.is(present.read(), 1, name);
    assert.is(get.read(), null, name);
  }
});

test('set contains/addIfAbsent answer at the call (Beam testSetReadable)', () => {
  for (const { name, state } of statesUnderTest(TAGS.set)) {
    const contains = state.contains('A');
    state.add('A');
    assert.is(contains.read(), false, name);
    const added = state.addIfAbsent('B');
    state.remove('B');
    assert.is(added.read(), true, name);
    assert.is(state.contains('A').read(), true, name);
  }
});

test('multimap get/containsKey/keys/entries are deferred', () => {
  for (const { name, state } of statesUnderTest(TAGS.multimap)) {
    const get = state.get('a');
    const has = state.containsKey('a');
    const keys = state.keys();
    const entries = state.entries();
    state.put('a', 1);
    state.put('a', 2);
    assert.equal([...get.read()], [1, 2], name);
    assert.is(has.read(), true, name);
    assert.equal([...keys.read()], ['a'], name);
    assert.equal(
      [...entries.read()],
      [
        ['a', 1],
        ['a', 2],
      ],
      name,
    );
  }
});

test('a deferred read of a current-key handle reads the key it was obtained under, whatever key is in scope at read()', () => {
  const backend = createKeyedStateBackend({ keyCoder: str });
  const map = backend.boundState(StateNamespaces.global(), TAGS.map);
  const bag = backend.boundState(StateNamespaces.global(), TAGS.bag);
  backend.setCurrentKey('k1');
  const get1 = map.get('f');
  const empty1 = bag.isEmpty();
  backend.setCurrentKey('k2');
  map.put('f', 2);
  bag.add('x');
  assert.is(get1.read(), null);
  assert.is(empty1.read(), true);
  const get2 = map.get('f');
  backend.setCurrentKey('k1');
  map.put('f', 1);
  assert.is(get1.read(), 1);
  assert.is(get2.read(), 2);
  backend.captureChanges();
  backend.clearCurrentKey();
  assert.is(get1.read(), 1, 'no key in scope: still reads its own key');
  assert.is(empty1.read(), true);
});

test('a deferred read pins a structured key too (keys compared by encoding)', () => {
  const backend = createKeyedStateBackend({ keyCoder: KvCoder.of(str, VarLongCoder.of()) });
  const map = backend.boundState(StateNamespaces.global(), TAGS.map);
  backend.setCurrentKey(KV('a', 1));
  const get = map.get('f');
  backend.setCurrentKey(KV('b', 2));
  map.put('f', 20);
  backend.setCurrentKey(KV('a', 1));
  map.put('f', 10);
  backend.setCurrentKey(KV('b', 2));
  assert.is(get.read(), 10);
});

test('handle identity: the same (namespace, tag) gives the same handle; other namespaces or ids are not equal', () => {
  const backend = createKeyedStateBackend({ keyCoder: str });
  const ns1 = StateNamespaces.fromString('/ns1/');
  const ns2 = StateNamespaces.fromString('/ns2/');
  const paths = [
    {
      name: 'InMemoryStateInternals',
      state: <S extends State>(ns: typeof ns1, tag: StateTag<S>) => inMemory.state(ns, tag),
    },
    {
      name: 'stateInternalsForKey',
      state: <S extends State>(ns: typeof ns1, tag: StateTag<S>) => forKey.state(ns, tag),
    },
    { name: 'boundState', state: <S extends State>(ns: typeof ns1, tag: StateTag<S>) => backend.boundState(ns, tag) },
  ];
  const inMemory = InMemoryStateInternals.forKey('k');
  const forKey = backend.stateInternalsForKey('k');
  for (const { name, state } of paths) {
    for (const tag of Object.values(TAGS) as StateTag<State>[]) {
      const a = state(ns1, tag);
      const msg = `${name} ${tag.id}`;
      assert.is(state(ns1, tag), a, msg);
      assert.ok((a as any).equals(state(ns1, tag)), msg);
      assert.not.ok((a as any).equals(state(ns2, tag)), msg);
      const otherId = { ...tag, id: `${tag.id}2`, columnKey: `${tag.columnKey}2` } as StateTag<State>;
      assert.not.ok((a as any).equals(state(ns1, otherId)), msg);
    }
  }
  // Two StateInternals of one key: handles not the same object, but equal; of two keys: not equal.
  const again = backend.stateInternalsForKey('k');
  const other = backend.stateInternalsForKey('other');
  const bagA = forKey.state(ns1, TAGS.bag);
  assert.is.not(again.state(ns1, TAGS.bag), bagA);
  assert.ok((bagA as any).equals(again.state(ns1, TAGS.bag)));
  assert.not.ok((bagA as any).equals(other.state(ns1, TAGS.bag)));
  // In-memory internals of two keys never share handles.
  assert.not.ok((inMemory.state(ns1, TAGS.bag) as any).equals(InMemoryStateInternals.forKey('k').state(ns1, TAGS.bag)));
});

test('handle identity: past 64 (namespace, tag) pairs a backend makes new handles, equal to the earlier ones', () => {
  const backend = createKeyedStateBackend({ keyCoder: str });
  const handles = [];
  for (let i = 0; i < 70; i++) handles.push(backend.boundState(StateNamespaces.fromString(`/w${i}/`), TAGS.bag));
  const late = backend.boundState(StateNamespaces.fromString('/w69/'), TAGS.bag);
  assert.is.not(late, handles[69]);
  assert.ok((late as any).equals(handles[69]));
  assert.is(backend.boundState(StateNamespaces.fromString('/w3/'), TAGS.bag), handles[3]);
  backend.setCurrentKey('k');
  handles[69]!.add('x');
  assert.equal([...late.read()], ['x']);
});

test('a combining tag with another CombineFn under the same id gets its own handle', () => {
  const internals = InMemoryStateInternals.forKey('k');
  const max: CombineFn<number, number[], number> = { ...sum, addInput: (a, x) => [Math.max(a[0]!, x)] };
  const ns = StateNamespaces.global();
  const s = internals.state(ns, TAGS.combining);
  const m = internals.state(ns, StateTags.combiningValue('c', ListCoder.of(VarLongCoder.of()), max));
  assert.is.not(m, s);
  s.add(5);
  m.add(3);
  assert.is(s.read(), 5);
});

test.run();
