import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JsonCoder, KV, KvCoder, StringUtf8Coder, TimestampedValue, VarLongCoder } from '../../coders/index.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags, type CombineFn } from '../../src/state/index.ts';
import { statesUnderTest } from './support/state-under-test.ts';

// A value its coder cannot encode must be refused by the write itself (a typed error, nothing
// changed), so the turn that wrote it fails; stored, it would fail every later checkpoint instead.

function assertRefused(write: () => void, pattern: RegExp): void {
  try {
    write();
  } catch (error) {
    assert.is((error as { code?: string }).code, 'STATE_VALUE_NOT_ENCODABLE', String(error));
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable('the write was accepted');
}

const cyclic = (): unknown => {
  const o: Record<string, unknown> = {};
  o['self'] = o;
  return o;
};

test('value state - a value the coder cannot encode is refused and the old value stays', () => {
  for (const { name, state } of statesUnderTest(StateTags.value('v', VarLongCoder.of()))) {
    state.write(3);
    assertRefused(() => state.write(1.5), /ValueState.write value \(number\) 1.5 does not encode with VarLongCoder/);
    assertRefused(() => state.write('7' as unknown as number), /VarLongCoder/);
    assert.is(state.read(), 3, name);
  }
});

test('map state - a null key or a bad value is refused (put, putIfAbsent, computeIfAbsent) and the map is unchanged', () => {
  for (const { name, state } of statesUnderTest(StateTags.map('m', StringUtf8Coder.of(), VarLongCoder.of()))) {
    state.put('a', 1);
    assertRefused(
      () => state.put(null as unknown as string, 1),
      /MapState key null does not encode with StringUtf8Coder/,
    );
    assertRefused(() => state.put('b', Number.NaN), /MapState value \(number\) NaN/);
    assertRefused(() => state.putIfAbsent('c', 0.5), /MapState value/);
    assertRefused(() => state.computeIfAbsent('d', () => Infinity), /MapState value/);
    assert.equal([...state.entries().read()], [['a', 1]], name);
  }
});

test('multimap, set, bag and ordered list - an element the coder cannot encode is refused', () => {
  for (const { name, state } of statesUnderTest(StateTags.multimap('mm', StringUtf8Coder.of(), VarLongCoder.of()))) {
    assertRefused(() => state.put(undefined as unknown as string, 1), /MultimapState key undefined/);
    assertRefused(() => state.put('k', 0.1), /MultimapState value/);
    assert.is(state.isEmpty().read(), true, name);
  }
  for (const { name, state } of statesUnderTest(StateTags.set('s', StringUtf8Coder.of()))) {
    assertRefused(
      () => state.add(42 as unknown as string),
      /SetState element \(number\) 42 does not encode with StringUtf8Coder/,
    );
    assertRefused(() => state.addIfAbsent(null as unknown as string), /SetState element null/);
    assert.is(state.isEmpty().read(), true, name);
  }
  for (const { name, state } of statesUnderTest(StateTags.bag('b', JsonCoder.of<unknown>()))) {
    state.add({ ok: true });
    assertRefused(() => state.add(10n), /BagState element \(bigint\) 10/);
    assertRefused(() => state.add(cyclic()), /BagState element \(object\) does not encode with JsonCoder/);
    assert.equal([...state.read()], [{ ok: true }], name);
  }
  for (const { name, state } of statesUnderTest(StateTags.orderedList('o', StringUtf8Coder.of()))) {
    assertRefused(() => state.add(TimestampedValue.of(null as unknown as string, 5)), /OrderedListState value null/);
    assert.is(state.isEmpty().read(), true, name);
  }
});

test('combining state - an accumulator that does not encode is refused and the old one put back, even if addInput changed it in place', () => {
  // Mutates its accumulator in place; an amount of NaN makes the count a fraction VarLongCoder refuses.
  const fn: CombineFn<number, { n: number }, number> = {
    createAccumulator: () => ({ n: 0 }),
    addInput: (acc, x) => {
      acc.n += Number.isNaN(x) ? 0.5 : 1;
      return acc;
    },
    mergeAccumulators: (accs) => ({ n: [...accs].reduce((s, a) => s + a.n, 0) }),
    extractOutput: (acc) => acc.n,
  };
  const coder = JsonCoder.of<{ n: number }>();
  const strict = Object.create(coder) as typeof coder;
  strict.encode = (value, out, context) => {
    if (!Number.isInteger(value.n)) throw new RangeError(`n must be an integer, got ${value.n}`);
    coder.encode(value, out, context);
  };
  for (const { name, state } of statesUnderTest(StateTags.combiningValue('c', strict, fn))) {
    state.add(1);
    state.add(1);
    assertRefused(
      () => state.add(Number.NaN),
      /CombiningState.add: the accumulator \(object\) does not encode.*n must be an integer/,
    );
    assert.is(state.read(), 2, name);
    state.add(1);
    assert.is(state.read(), 3, name);
  }
  for (const { name, state } of statesUnderTest(
    StateTags.combiningValue('kv', KvCoder.of(VarLongCoder.of(), VarLongCoder.of()), {
      createAccumulator: () => KV(0, 0),
      addInput: (acc, x: number) => KV(Number(acc.key) + 1, Number(acc.value) + x),
      mergeAccumulators: (accs) =>
        [...accs].reduce((a, b) => KV(Number(a.key) + Number(b.key), Number(a.value) + Number(b.value)), KV(0, 0)),
      extractOutput: (acc) => Number(acc.value),
    }),
  )) {
    assertRefused(() => state.add(0.25), /CombiningState.add/);
    assert.is(state.isEmpty().read(), true, name);
  }
});

test('heap backend - after a refused write in a rolled-back turn, the next capture succeeds', async () => {
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  const merchants = backend.boundState(
    StateNamespaces.global(),
    StateTags.map('merchants', StringUtf8Coder.of(), VarLongCoder.of()),
  );
  const total = backend.boundState(StateNamespaces.global(), StateTags.value('total', VarLongCoder.of()));
  backend.beginTurn();
  backend.setCurrentKey('card-1');
  merchants.put('grocer', 1);
  total.write(5);
  backend.commitTurn();
  backend.beginTurn();
  backend.setCurrentKey('card-1');
  total.write(10);
  assertRefused(() => merchants.put(null as unknown as string, 1), /MapState key null/);
  backend.rollbackTurn();
  const capture = backend.captureChanges();
  await capture.settle();
  assert.is(capture.changedKeys, 1);
  backend.setCurrentKey('card-1');
  assert.is(total.read(), 5);
  assert.equal([...merchants.entries().read()], [['grocer', 1]]);
});

test.run();
