// A port of Apache Beam's runners-core StateInternalsTest (runners/core-java/src/test/java/org/apache/
// beam/runners/core/StateInternalsTest.java), test for test, keeping Beam's test names. Beam's suite
// is abstract: each runner's StateInternals runs it; `stateInternalsTest` runs it for one of ours.
//
// Adapted, and why:
// - Java's assertEquals/equalTo on state handles is `sameState` (the same object, or equals()).
// - Hamcrest's containsInAnyOrder compares sorted copies; map entries are [key, value] tuples.
// - `new Instant(t)` is the number t (epoch millis). `StateNamespaceForTest(key)` is a namespace whose
//   stringKey() is `key`, as Beam's.
// - Sum.ofIntegers() is ./binary-combine-integer-fn.ts: Beam's BinaryCombineIntegerFn with its
//   getAccumulatorCoder, which combiningValueFromInputInternal asks for the accumulator coder.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BaseCoder,
  Context,
  StringUtf8Coder,
  VarIntCoder,
  type ByteReader,
  type ByteWriter,
} from '../../coders/index.ts';
import {
  StateMerging,
  StateTags,
  TimestampCombiner,
  type CombineFnWithContext,
  type CombiningState,
  type ReadableState,
  type StateInternals,
  type StateTag,
} from '../../src/state/index.ts';
import { Sum } from './binary-combine-integer-fn.ts';
import { StateNamespaceForTest } from './state-namespace-for-test.ts';

const NAMESPACE_1 = new StateNamespaceForTest('ns1');
const NAMESPACE_2 = new StateNamespaceForTest('ns2');
const NAMESPACE_3 = new StateNamespaceForTest('ns3');

/** Beam's SummingContextFn (a CombineFnWithContext summing integers). */
class SummingContextFn implements CombineFnWithContext<number, number, number> {
  createAccumulator(): number {
    return 0;
  }
  addInput(accumulator: number, input: number): number {
    return accumulator + input;
  }
  mergeAccumulators(
    accumulators: Iterable<number>,
    c: Parameters<CombineFnWithContext<number, number, number>['mergeAccumulators']>[1],
  ): number {
    let sum = this.createAccumulator();
    void c;
    for (const accumulator of accumulators) sum += accumulator;
    return sum;
  }
  extractOutput(accumulator: number): number {
    return accumulator;
  }
}

/** Beam's StringCoderWithIdentityEquality: a StringUtf8Coder whose equals() is identity. */
export class StringCoderWithIdentityEquality extends BaseCoder<string> {
  readonly urn = undefined;
  private readonly realCoder = StringUtf8Coder.of();
  encode(value: string, writer: ByteWriter, context: Context): void {
    this.realCoder.encode(value, writer, context);
  }
  decode(reader: ByteReader, context: Context): string {
    return this.realCoder.decode(reader, context);
  }
  override verifyDeterministic(): void {}
  equals(other: unknown): boolean {
    return other === this;
  }
}

const STRING_VALUE_ADDR = StateTags.value('stringValue', StringUtf8Coder.of());
const SUM_INTEGER_ADDR = StateTags.combiningValueFromInputInternal('sumInteger', VarIntCoder.of(), Sum.ofIntegers());
const SUM_INTEGER_CONTEXT_ADDR = StateTags.combiningValueWithContext(
  'sumIntegerWithContext',
  VarIntCoder.of(),
  new SummingContextFn(),
);
const STRING_BAG_ADDR = StateTags.bag('stringBag', StringUtf8Coder.of());
const STRING_SET_ADDR = StateTags.set('stringSet', StringUtf8Coder.of());
const STRING_MAP_ADDR = StateTags.map('stringMap', StringUtf8Coder.of(), VarIntCoder.of());
const WATERMARK_EARLIEST_ADDR = StateTags.watermarkStateInternal('watermark', TimestampCombiner.EARLIEST);
const WATERMARK_LATEST_ADDR = StateTags.watermarkStateInternal('watermark', TimestampCombiner.LATEST);
const WATERMARK_EOW_ADDR = StateTags.watermarkStateInternal('watermark', TimestampCombiner.END_OF_WINDOW);
// Two distinct tags because they have non-equals() coders
const STRING_BAG_ADDR1 = StateTags.bag('badStringBag', new StringCoderWithIdentityEquality());
const STRING_BAG_ADDR2 = StateTags.bag('badStringBag', new StringCoderWithIdentityEquality());

/** Java's equals() on state handles. */
export function sameState(a: unknown, b: unknown): boolean {
  return (
    a === b ||
    (typeof (a as { equals?: unknown })?.equals === 'function' && (a as { equals(o: unknown): boolean }).equals(b))
  );
}

const sorted = <T>(xs: Iterable<T>): T[] => [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
function containsInAnyOrder<T>(actual: Iterable<T>, ...expected: T[]): void {
  assert.equal(sorted(actual), sorted(expected));
}
function emptyIterable(actual: Iterable<unknown>): void {
  assert.equal([...actual], []);
}

/** Runs Beam's StateInternalsTest against the StateInternals `createStateInternals` makes (a fresh one per test). */
export function stateInternalsTest(name: string, createStateInternals: () => StateInternals): void {
  const test = suite<{ underTest: StateInternals }>(`StateInternalsTest[${name}]`, { underTest: undefined as never });
  test.before.each((ctx) => {
    ctx.underTest = createStateInternals();
  });

  test('testValue', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, STRING_VALUE_ADDR);

    // State instances are cached, but depend on the namespace.
    assert.ok(sameState(underTest.state(NAMESPACE_1, STRING_VALUE_ADDR), value));
    assert.not.ok(sameState(underTest.state(NAMESPACE_2, STRING_VALUE_ADDR), value));

    assert.is(value.read(), null);
    value.write('hello');
    assert.is(value.read(), 'hello');
    value.write('world');
    assert.is(value.read(), 'world');

    value.clear();
    assert.is(value.read(), null);
    assert.ok(sameState(underTest.state(NAMESPACE_1, STRING_VALUE_ADDR), value));
  });

  test('testBag', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, STRING_BAG_ADDR);

    // State instances are cached, but depend on the namespace.
    assert.ok(sameState(value, underTest.state(NAMESPACE_1, STRING_BAG_ADDR)));
    assert.not.ok(sameState(value, underTest.state(NAMESPACE_2, STRING_BAG_ADDR)));

    emptyIterable(value.read());
    value.add('hello');
    containsInAnyOrder(value.read(), 'hello');

    value.add('world');
    containsInAnyOrder(value.read(), 'hello', 'world');

    value.clear();
    emptyIterable(value.read());
    assert.ok(sameState(underTest.state(NAMESPACE_1, STRING_BAG_ADDR), value));
  });

  test('testBagIsEmpty', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, STRING_BAG_ADDR);

    assert.is(value.isEmpty().read(), true);
    const readFuture: ReadableState<boolean> = value.isEmpty();
    value.add('hello');
    assert.is(readFuture.read(), false);

    value.clear();
    assert.is(readFuture.read(), true);
  });

  test('testMergeBagIntoSource', ({ underTest }) => {
    const bag1 = underTest.state(NAMESPACE_1, STRING_BAG_ADDR);
    const bag2 = underTest.state(NAMESPACE_2, STRING_BAG_ADDR);

    bag1.add('Hello');
    bag2.add('World');
    bag1.add('!');

    StateMerging.mergeBags([bag1, bag2], bag1);

    // Reading the merged bag gets both the contents
    containsInAnyOrder(bag1.read(), 'Hello', 'World', '!');
    emptyIterable(bag2.read());
  });

  test('testMergeBagIntoNewNamespace', ({ underTest }) => {
    const bag1 = underTest.state(NAMESPACE_1, STRING_BAG_ADDR);
    const bag2 = underTest.state(NAMESPACE_2, STRING_BAG_ADDR);
    const bag3 = underTest.state(NAMESPACE_3, STRING_BAG_ADDR);

    bag1.add('Hello');
    bag2.add('World');
    bag1.add('!');

    StateMerging.mergeBags([bag1, bag2, bag3], bag3);

    // Reading the merged bag gets both the contents
    containsInAnyOrder(bag3.read(), 'Hello', 'World', '!');
    emptyIterable(bag1.read());
    emptyIterable(bag2.read());
  });

  test('testSet', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, STRING_SET_ADDR);

    // State instances are cached, but depend on the namespace.
    assert.ok(sameState(value, underTest.state(NAMESPACE_1, STRING_SET_ADDR)));
    assert.not.ok(sameState(value, underTest.state(NAMESPACE_2, STRING_SET_ADDR)));

    // empty
    emptyIterable(value.read());
    assert.is(value.contains('A').read(), false);

    // add
    value.add('A');
    value.add('B');
    value.add('A');
    assert.is(value.addIfAbsent('B').read(), false);
    containsInAnyOrder(value.read(), 'A', 'B');

    // remove
    value.remove('A');
    containsInAnyOrder(value.read(), 'B');
    value.remove('C');
    containsInAnyOrder(value.read(), 'B');

    // contains
    assert.is(value.contains('A').read(), false);
    assert.is(value.contains('B').read(), true);
    value.add('C');
    value.add('D');

    // readLater
    containsInAnyOrder(value.readLater().read(), 'B', 'C', 'D');
    const later = value.readLater();
    const items = [...later.read()];
    assert.ok(items.includes('C') && items.includes('D'));
    assert.is(later.contains('A').read(), false);

    // clear
    value.clear();
    emptyIterable(value.read());
    assert.ok(sameState(underTest.state(NAMESPACE_1, STRING_SET_ADDR), value));
  });

  test('testSetIsEmpty', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, STRING_SET_ADDR);

    assert.is(value.isEmpty().read(), true);
    const readFuture = value.isEmpty();
    value.add('hello');
    assert.is(readFuture.read(), false);

    value.clear();
    assert.is(readFuture.read(), true);
  });

  test('testMergeSetIntoSource', ({ underTest }) => {
    const set1 = underTest.state(NAMESPACE_1, STRING_SET_ADDR);
    const set2 = underTest.state(NAMESPACE_2, STRING_SET_ADDR);

    set1.add('Hello');
    set2.add('Hello');
    set2.add('World');
    set1.add('!');

    StateMerging.mergeSets([set1, set2], set1);

    // Reading the merged set gets both the contents
    containsInAnyOrder(set1.read(), 'Hello', 'World', '!');
    emptyIterable(set2.read());
  });

  test('testMergeSetIntoNewNamespace', ({ underTest }) => {
    const set1 = underTest.state(NAMESPACE_1, STRING_SET_ADDR);
    const set2 = underTest.state(NAMESPACE_2, STRING_SET_ADDR);
    const set3 = underTest.state(NAMESPACE_3, STRING_SET_ADDR);

    set1.add('Hello');
    set2.add('Hello');
    set2.add('World');
    set1.add('!');

    StateMerging.mergeSets([set1, set2, set3], set3);

    // Reading the merged set gets both the contents
    containsInAnyOrder(set3.read(), 'Hello', 'World', '!');
    emptyIterable(set1.read());
    emptyIterable(set2.read());
  });

  test('testMap', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, STRING_MAP_ADDR);

    // State instances are cached, but depend on the namespace.
    assert.ok(sameState(value, underTest.state(NAMESPACE_1, STRING_MAP_ADDR)));
    assert.not.ok(sameState(value, underTest.state(NAMESPACE_2, STRING_MAP_ADDR)));

    // put
    emptyIterable(value.entries().read());
    value.put('A', 1);
    value.put('B', 2);
    value.put('A', 11);
    assert.is(value.putIfAbsent('B', 22).read(), 2);
    containsInAnyOrder(value.entries().read(), ['A', 11], ['B', 2]);

    // remove
    value.remove('A');
    containsInAnyOrder(value.entries().read(), ['B', 2]);
    value.remove('C');
    containsInAnyOrder(value.entries().read(), ['B', 2]);

    // get
    assert.is(value.get('A').read(), null);
    assert.is(value.get('B').read(), 2);
    value.put('C', 3);
    value.put('D', 4);
    assert.is(value.get('C').read(), 3);

    // iterate
    value.put('E', 5);
    value.remove('C');
    containsInAnyOrder(value.keys().read(), 'B', 'D', 'E');
    containsInAnyOrder(value.values().read(), 2, 4, 5);
    containsInAnyOrder(value.entries().read(), ['B', 2], ['D', 4], ['E', 5]);

    // readLater
    assert.is(value.get('B').readLater().read(), 2);
    assert.is(value.get('A').readLater().read(), null);
    containsInAnyOrder(value.entries().readLater().read(), ['B', 2], ['D', 4], ['E', 5]);

    // isEmpty
    assert.is(value.isEmpty().read(), false);

    // clear
    value.clear();
    emptyIterable(value.entries().read());
    assert.ok(sameState(underTest.state(NAMESPACE_1, STRING_MAP_ADDR), value));

    // isEmpty
    assert.is(value.isEmpty().read(), true);
  });

  test('testCombiningValue', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, SUM_INTEGER_ADDR);

    // State instances are cached, but depend on the namespace.
    assert.ok(sameState(value, underTest.state(NAMESPACE_1, SUM_INTEGER_ADDR)));
    assert.not.ok(sameState(value, underTest.state(NAMESPACE_2, SUM_INTEGER_ADDR)));

    assert.is(value.read(), 0);
    value.add(2);
    assert.is(value.read(), 2);

    value.add(3);
    assert.is(value.read(), 5);

    value.clear();
    assert.is(value.read(), 0);
    assert.ok(sameState(underTest.state(NAMESPACE_1, SUM_INTEGER_ADDR), value));
  });

  test('testCombiningIsEmpty', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, SUM_INTEGER_ADDR);

    assert.is(value.isEmpty().read(), true);
    const readFuture = value.isEmpty();
    value.add(5);
    assert.is(readFuture.read(), false);

    value.clear();
    assert.is(readFuture.read(), true);
  });

  function mergeIntoSource<A>(underTest: StateInternals, tag: StateTag<CombiningState<number, A, number>>): void {
    const value1 = underTest.state(NAMESPACE_1, tag);
    const value2 = underTest.state(NAMESPACE_2, tag);

    assert.ok(value1.getAccum() !== null && value1.getAccum() !== undefined);
    assert.ok(value2.getAccum() !== null && value2.getAccum() !== undefined);

    value1.add(5);
    value2.add(10);
    value1.add(6);

    assert.is(value1.read(), 11);
    assert.is(value2.read(), 10);

    // Merging clears the old values and updates the result value.
    StateMerging.mergeCombiningValues([value1, value2], value1);

    assert.is(value1.read(), 21);
    assert.is(value2.read(), 0);
  }

  function mergeIntoNewNamespace<A>(underTest: StateInternals, tag: StateTag<CombiningState<number, A, number>>): void {
    const value1 = underTest.state(NAMESPACE_1, tag);
    const value2 = underTest.state(NAMESPACE_2, tag);
    const value3 = underTest.state(NAMESPACE_3, tag);

    assert.ok(value1.getAccum() !== null && value1.getAccum() !== undefined);
    assert.ok(value2.getAccum() !== null && value2.getAccum() !== undefined);
    assert.ok(value3.getAccum() !== null && value3.getAccum() !== undefined);

    value1.add(5);
    value2.add(10);
    value1.add(6);

    StateMerging.mergeCombiningValues([value1, value2], value3);

    // Merging clears the old values and updates the result value.
    assert.is(value1.read(), 0);
    assert.is(value2.read(), 0);
    assert.is(value3.read(), 21);
  }

  test('testMergeCombiningValueIntoSource', ({ underTest }) => mergeIntoSource(underTest, SUM_INTEGER_ADDR));
  test('testMergeCombiningValueIntoNewNamespace', ({ underTest }) =>
    mergeIntoNewNamespace(underTest, SUM_INTEGER_ADDR));
  test('testMergeCombiningWithContextValueIntoSource', ({ underTest }) =>
    mergeIntoSource(underTest, SUM_INTEGER_CONTEXT_ADDR));
  test('testMergeCombiningWithContextValueIntoNewNamespace', ({ underTest }) =>
    mergeIntoNewNamespace(underTest, SUM_INTEGER_CONTEXT_ADDR));

  test('testWatermarkEarliestState', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, WATERMARK_EARLIEST_ADDR);

    // State instances are cached, but depend on the namespace.
    assert.ok(sameState(value, underTest.state(NAMESPACE_1, WATERMARK_EARLIEST_ADDR)));
    assert.not.ok(sameState(value, underTest.state(NAMESPACE_2, WATERMARK_EARLIEST_ADDR)));

    assert.is(value.read(), null);
    value.add(2000);
    assert.is(value.read(), 2000);

    value.add(3000);
    assert.is(value.read(), 2000);

    value.add(1000);
    assert.is(value.read(), 1000);

    value.clear();
    assert.is(value.read(), null);
    assert.ok(sameState(underTest.state(NAMESPACE_1, WATERMARK_EARLIEST_ADDR), value));
  });

  test('testWatermarkLatestState', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, WATERMARK_LATEST_ADDR);

    // State instances are cached, but depend on the namespace.
    assert.ok(sameState(value, underTest.state(NAMESPACE_1, WATERMARK_LATEST_ADDR)));
    assert.not.ok(sameState(value, underTest.state(NAMESPACE_2, WATERMARK_LATEST_ADDR)));

    assert.is(value.read(), null);
    value.add(2000);
    assert.is(value.read(), 2000);

    value.add(3000);
    assert.is(value.read(), 3000);

    value.add(1000);
    assert.is(value.read(), 3000);

    value.clear();
    assert.is(value.read(), null);
    assert.ok(sameState(underTest.state(NAMESPACE_1, WATERMARK_LATEST_ADDR), value));
  });

  test('testWatermarkEndOfWindowState', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, WATERMARK_EOW_ADDR);

    // State instances are cached, but depend on the namespace.
    assert.ok(sameState(value, underTest.state(NAMESPACE_1, WATERMARK_EOW_ADDR)));
    assert.not.ok(sameState(value, underTest.state(NAMESPACE_2, WATERMARK_EOW_ADDR)));

    assert.is(value.read(), null);
    value.add(2000);
    assert.is(value.read(), 2000);

    value.clear();
    assert.is(value.read(), null);
    assert.ok(sameState(underTest.state(NAMESPACE_1, WATERMARK_EOW_ADDR), value));
  });

  test('testWatermarkStateIsEmpty', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, WATERMARK_EARLIEST_ADDR);

    assert.is(value.isEmpty().read(), true);
    const readFuture = value.isEmpty();
    value.add(1000);
    assert.is(readFuture.read(), false);

    value.clear();
    assert.is(readFuture.read(), true);
  });

  test('testSetReadable', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, STRING_SET_ADDR);

    // test contains
    const readable = value.contains('A');
    value.add('A');
    assert.is(readable.read(), false);

    // test addIfAbsent
    value.addIfAbsent('B');
    assert.is(value.contains('B').read(), true);
  });

  test('testMapReadable', ({ underTest }) => {
    const value = underTest.state(NAMESPACE_1, STRING_MAP_ADDR);

    // test iterable, should just return a iterable view of the values contained in this map.
    // The iterable is backed by the map, so changes to the map are reflected in the iterable.
    const keys = value.keys();
    const values = value.values();
    const entries = value.entries();
    value.put('A', 1);
    assert.ok([...keys.read()].length > 0);
    assert.ok([...values.read()].length > 0);
    assert.ok([...entries.read()].length > 0);

    // test get
    const get = value.get('B');
    value.put('B', 2);
    assert.is(get.read(), 2);

    // test addIfAbsent
    value.putIfAbsent('C', 3);
    assert.is(value.get('C').read(), 3);
  });

  test('testBagWithBadCoderEquality', ({ underTest }) => {
    // Ensure two instances of the bad coder are distinct; models user who fails to
    // override equals() or inherit from CustomCoder for StructuredCoder
    assert.not.ok(new StringCoderWithIdentityEquality().equals(new StringCoderWithIdentityEquality()));

    const state1 = underTest.state(NAMESPACE_1, STRING_BAG_ADDR1);
    state1.add('hello');

    const state2 = underTest.state(NAMESPACE_1, STRING_BAG_ADDR2);
    containsInAnyOrder(state2.read(), 'hello');
  });

  test.run();
}
