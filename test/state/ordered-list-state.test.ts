import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { StringUtf8Coder, TimestampedValue } from '../../coders/index.ts';
import { StateTags } from '../../src/state/index.ts';
import { statesUnderTest } from './support/state-under-test.ts';

const tv = (value: string, t: number) => TimestampedValue.of(value, t);
const plain = (xs: Iterable<TimestampedValue<string>>) => [...xs].map((x) => [x.value, x.timestamp]);

test('ordered list state - sorted by timestamp, equal timestamps in insertion order', () => {
  for (const { state } of statesUnderTest(StateTags.orderedList('o', StringUtf8Coder.of()))) {
    state.add(tv('c', 30));
    state.add(tv('a', 10));
    state.add(tv('b1', 20));
    state.add(tv('b2', 20));
    state.add(tv('a0', 10));
    assert.equal(plain(state.read()), [
      ['a', 10],
      ['a0', 10],
      ['b1', 20],
      ['b2', 20],
      ['c', 30],
    ]);
  }
});

test('ordered list state - readRange and clearRange are half-open [min, limit)', () => {
  for (const { state } of statesUnderTest(StateTags.orderedList('o', StringUtf8Coder.of()))) {
    for (const t of [10, 20, 30, 40]) state.add(tv(`v${t}`, t));
    assert.equal(plain(state.readRange(20, 40)), [
      ['v20', 20],
      ['v30', 30],
    ]);
    assert.equal(plain(state.readRange(21, 30)), []);
    state.clearRange(20, 40);
    assert.equal(plain(state.read()), [
      ['v10', 10],
      ['v40', 40],
    ]);
    state.clear();
    assert.is(state.isEmpty().read(), true);
  }
});

test('ordered list state - matches a stably sorted array under random operations', () => {
  const t = fc.integer({ min: 0, max: 10 });
  const op = fc.oneof(
    { weight: 4, arbitrary: fc.record({ add: fc.string({ maxLength: 2 }), t }) },
    { weight: 1, arbitrary: fc.record({ clearFrom: t, to: t }) },
    { weight: 1, arbitrary: fc.record({ readFrom: t, to: t }) },
    { weight: 1, arbitrary: fc.record({ clear: fc.constant(true) }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      for (const { state, disturb } of statesUnderTest(StateTags.orderedList('o', StringUtf8Coder.of()))) {
        let model: [string, number][] = [];
        const sorted = () =>
          model
            .map((x, i) => [x, i] as const)
            .sort((a, b) => a[0][1] - b[0][1] || a[1] - b[1])
            .map(([x]) => x);
        const snapshots: [Iterable<TimestampedValue<string>>, unknown][] = [];
        ops.forEach((o, i) => {
          if ('add' in o) {
            state.add(tv(o.add, o.t));
            model.push([o.add, o.t]);
          } else if ('clearFrom' in o) {
            state.clearRange(o.clearFrom, o.to);
            model = model.filter(([, ts]) => !(ts >= o.clearFrom && ts < o.to));
          } else if ('readFrom' in o) {
            assert.equal(
              plain(state.readRange(o.readFrom, o.to)),
              sorted().filter(([, ts]) => ts >= o.readFrom && ts < o.to),
            );
          } else {
            state.clear();
            model = [];
          }
          disturb(i);
          snapshots.push([state.read(), sorted()]);
        });
        for (const [snapshot, expected] of snapshots) assert.equal(plain(snapshot), expected);
      }
    }),
  );
});

test.run();
