import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { IntervalWindow, IntervalWindowCoder, ListCoder, StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  createMergingStateAccessor,
  InMemoryStateInternals,
  StateMerging,
  StateNamespaces,
  StateTags,
  TimestampCombiner,
  type CombineFn,
  type StateInternals,
} from '../../src/state/index.ts';

const windowCoder = IntervalWindowCoder.of();
const w = (start: number, end: number): IntervalWindow => new IntervalWindow(start, end);
const ns = (window: IntervalWindow) => StateNamespaces.window(windowCoder, window);

const sum: CombineFn<number, number[], number> = {
  createAccumulator: () => [0],
  addInput: (a, x) => {
    a[0]! += x;
    return a;
  },
  mergeAccumulators: (accs) => {
    const out = [0];
    for (const a of accs) out[0]! += a[0]!;
    return out;
  },
  extractOutput: (a) => a[0]!,
};

const BAG = StateTags.bag('bag', StringUtf8Coder.of());
const SET = StateTags.set('set', StringUtf8Coder.of());
const SUM = StateTags.combiningValue('sum', ListCoder.of(VarLongCoder.of()), sum);
const EARLIEST = StateTags.watermarkStateInternal('holdE', TimestampCombiner.EARLIEST);
const LATEST = StateTags.watermarkStateInternal('holdL', TimestampCombiner.LATEST);
const EOW = StateTags.watermarkStateInternal('holdW', TimestampCombiner.END_OF_WINDOW);

/** Every way to reach one key's state: in-memory, a backend's stateInternalsForKey. */
function internalsUnderTest(): { name: string; internals: StateInternals }[] {
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  return [
    { name: 'InMemoryStateInternals', internals: InMemoryStateInternals.forKey('k') },
    { name: 'backend stateInternalsForKey', internals: backend.stateInternalsForKey('k') },
  ];
}

test('StateMerging.mergeBags - into a source and into a new window; sources cleared', () => {
  for (const { name, internals } of internalsUnderTest()) {
    const [a, b, c] = [
      internals.state(ns(w(0, 10)), BAG),
      internals.state(ns(w(5, 15)), BAG),
      internals.state(ns(w(0, 15)), BAG),
    ];
    a.add('Hello');
    b.add('World');
    a.add('!');
    StateMerging.mergeBags([a, b], a);
    assert.equal([...a.read()], ['Hello', '!', 'World'], name);
    assert.equal([...b.read()], [], name);
    b.add('again');
    StateMerging.mergeBags([a, b, c], c);
    assert.equal([...c.read()], ['Hello', '!', 'World', 'again'], name);
    assert.is(a.isEmpty().read(), true, name);
    assert.is(b.isEmpty().read(), true, name);
  }
});

test('StateMerging.mergeSets - the union lands in the result, duplicates once', () => {
  for (const { name, internals } of internalsUnderTest()) {
    const [a, b, c] = [
      internals.state(ns(w(0, 10)), SET),
      internals.state(ns(w(5, 15)), SET),
      internals.state(ns(w(0, 15)), SET),
    ];
    a.add('Hello');
    b.add('Hello');
    b.add('World');
    a.add('!');
    StateMerging.mergeSets([a, b, c], c);
    assert.equal(new Set(c.read()), new Set(['Hello', 'World', '!']), name);
    assert.equal([...a.read()], [], name);
    assert.equal([...b.read()], [], name);
  }
});

test('StateMerging.mergeCombiningValues - merged accumulator in the result, sources empty; a lone result is left alone', () => {
  for (const { name, internals } of internalsUnderTest()) {
    const [a, b, c] = [
      internals.state(ns(w(0, 10)), SUM),
      internals.state(ns(w(5, 15)), SUM),
      internals.state(ns(w(0, 15)), SUM),
    ];
    a.add(5);
    b.add(10);
    a.add(6);
    StateMerging.mergeCombiningValues([a, b], a);
    assert.is(a.read(), 21, name);
    assert.is(b.read(), 0, name);
    assert.is(b.isEmpty().read(), true, name);
    StateMerging.mergeCombiningValues([a, b], c);
    assert.is(c.read(), 21, name);
    assert.is(a.isEmpty().read(), true, name);
    StateMerging.mergeCombiningValues([c], c);
    assert.is(c.read(), 21, name);
  }
});

test('StateMerging.mergeWatermarks - EARLIEST takes the minimum, LATEST the maximum, END_OF_WINDOW the merged window end', () => {
  for (const { name, internals } of internalsUnderTest()) {
    const merged = w(0, 30);
    for (const [tag, expected] of [
      [EARLIEST, 3],
      [LATEST, 17],
      [EOW, 29],
    ] as const) {
      const a = internals.state(ns(w(0, 10)), tag);
      const b = internals.state(ns(w(10, 20)), tag);
      const empty = internals.state(ns(w(20, 30)), tag);
      const result = internals.state(ns(merged), tag);
      a.add(3);
      b.add(17);
      StateMerging.mergeWatermarks([a, b, empty], result, merged);
      assert.is(result.read(), expected, `${name} ${tag.id}`);
      assert.is(a.read(), null, `${name} ${tag.id}`);
      assert.is(b.read(), null, `${name} ${tag.id}`);
    }
    // No source holds: EARLIEST/LATEST set no hold; END_OF_WINDOW still holds at the window end.
    const none = [internals.state(ns(w(100, 110)), LATEST)];
    const r = internals.state(ns(w(100, 120)), LATEST);
    StateMerging.mergeWatermarks(none, r, w(100, 120));
    assert.is(r.read(), null, name);
  }
});

test('StateMerging - the MergingStateAccessor forms merge the state of window namespaces', () => {
  const internals = InMemoryStateInternals.forKey('k');
  const windows = [w(0, 10), w(5, 15), w(12, 20)];
  const result = w(0, 20);
  windows.forEach((win, i) => {
    internals.state(ns(win), BAG).add(`e${i}`);
    internals.state(ns(win), SUM).add(i + 1);
    internals.state(ns(win), EARLIEST).add(100 + i);
  });
  const context = createMergingStateAccessor(internals, windowCoder, windows, result);
  StateMerging.prefetchBags(context, BAG);
  StateMerging.prefetchCombiningValues(context, SUM);
  StateMerging.prefetchWatermarks(context, EARLIEST);
  StateMerging.mergeBags(context, BAG);
  StateMerging.mergeCombiningValues(context, SUM);
  StateMerging.mergeWatermarks(context, EARLIEST, result);
  assert.equal([...internals.state(ns(result), BAG).read()], ['e0', 'e1', 'e2']);
  assert.is(internals.state(ns(result), SUM).read(), 6);
  assert.is(internals.state(ns(result), EARLIEST).read(), 100);
  for (const win of windows) {
    assert.is(internals.state(ns(win), BAG).isEmpty().read(), true);
    assert.is(internals.state(ns(win), SUM).isEmpty().read(), true);
    assert.is(internals.state(ns(win), EARLIEST).read(), null);
  }
  internals.state(ns(result), SET).add('x');
  StateMerging.clear(createMergingStateAccessor(internals, windowCoder, [result], result), SET);
  assert.is(internals.state(ns(result), SET).isEmpty().read(), true);
});

test('StateMerging - a merge inside a failed turn is undone; the backend holds follow the merged hold', () => {
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  const internals = backend.stateInternalsForKey('k');
  const a = internals.state(ns(w(0, 10)), EARLIEST);
  const b = internals.state(ns(w(5, 15)), EARLIEST);
  a.add(7);
  b.add(4);
  const bag1 = internals.state(ns(w(0, 10)), BAG);
  const bag2 = internals.state(ns(w(5, 15)), BAG);
  bag1.add('x');
  bag2.add('y');
  assert.is(backend.minimumWatermarkHold(), 4);
  backend.beginTurn();
  const merged = internals.state(ns(w(0, 15)), EARLIEST);
  StateMerging.mergeWatermarks([a, b], merged, w(0, 15));
  StateMerging.mergeBags([bag1, bag2], internals.state(ns(w(0, 15)), BAG));
  assert.is(merged.read(), 4);
  backend.rollbackTurn();
  assert.is(merged.read(), null);
  assert.is(a.read(), 7);
  assert.is(b.read(), 4);
  assert.equal([...bag1.read()], ['x']);
  assert.equal([...bag2.read()], ['y']);
  backend.beginTurn();
  StateMerging.mergeWatermarks([a, b], merged, w(0, 15));
  backend.commitTurn();
  assert.is(backend.minimumWatermarkHold(), 4);
  merged.clear();
  assert.is(backend.minimumWatermarkHold(), undefined);
});

test('StateMerging.mergeBags - property: the result holds every element of every source, the others none', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.string({ maxLength: 2 }), { maxLength: 5 }), { minLength: 1, maxLength: 5 }),
      fc.nat(),
      (contents, pick) => {
        const internals = InMemoryStateInternals.forKey('k');
        const bags = contents.map((items, i) => {
          const bag = internals.state(ns(w(i, i + 1)), BAG);
          for (const item of items) bag.add(item);
          return bag;
        });
        const resultIndex = pick % (bags.length + 1);
        const result = resultIndex < bags.length ? bags[resultIndex]! : internals.state(ns(w(-1, 0)), BAG);
        StateMerging.mergeBags(bags, result);
        const expected = [...(contents[resultIndex] ?? [])];
        contents.forEach((items, i) => {
          if (i !== resultIndex) expected.push(...items);
        });
        assert.equal([...result.read()], expected);
        bags.forEach((bag, i) => {
          if (i !== resultIndex) assert.equal([...bag.read()], []);
        });
      },
    ),
  );
});

test.run();
