import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  BooleanCoder,
  ByteArrayCoder,
  CoderUtils,
  DoubleCoder,
  ListCoder,
  MapCoder,
  NullableCoder,
  SetCoder,
  StringUtf8Coder,
  VarIntCoder,
  VarLongCoder,
} from '../../../coders/index.ts';
import type { Coder } from '../../../coders/index.ts';
import { InMemoryStateInternals, StateNamespaces, StateTags } from '../../../src/index.ts';
import type { State, StateTag } from '../../../src/index.ts';
import {
  applyKeyWrite,
  clearKey,
  fromJson,
  parseKeyWrite,
  readKeyJson,
  toJson,
} from '../../../runtime/state-api/state-json.ts';
import { StateValueError } from '../../../runtime/state-api/index.ts';

/** A value survives toJson then fromJson: the same bytes through the coder. */
function roundTrips<T>(coder: Coder<T>, value: T): void {
  const json = JSON.parse(JSON.stringify(toJson(value))) as unknown;
  const back = fromJson(json, coder as Coder<unknown>, 'test');
  assert.equal(CoderUtils.encodeToByteArray(coder as Coder<unknown>, back), CoderUtils.encodeToByteArray(coder, value));
}

test('toJson/fromJson round-trip through the coders (property)', () => {
  const long = fc.oneof(
    fc.integer(),
    fc
      .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
      .map((b) => (b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b)),
  );
  fc.assert(fc.property(long, (v) => roundTrips(VarLongCoder.of() as Coder<number | bigint>, v)));
  fc.assert(fc.property(fc.string(), (v) => roundTrips(StringUtf8Coder.of(), v)));
  fc.assert(fc.property(fc.uint8Array(), (v) => roundTrips(ByteArrayCoder.of(), v)));
  // JSON has no negative zero: -0 reads as 0 (documented), everything else round-trips, NaN and ±Infinity as text.
  fc.assert(
    fc.property(
      fc.double().filter((v) => !Object.is(v, -0)),
      (v) => roundTrips(DoubleCoder.of(), v),
    ),
  );
  assert.is(toJson(-0), 0);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })), (v) =>
      roundTrips(ListCoder.of(VarIntCoder.of()), v),
    ),
  );
  fc.assert(fc.property(fc.uniqueArray(fc.string()), (v) => roundTrips(SetCoder.of(StringUtf8Coder.of()), new Set(v))));
  fc.assert(
    fc.property(fc.dictionary(fc.string(), long), (v) =>
      roundTrips(
        MapCoder.of(StringUtf8Coder.of(), VarLongCoder.of()) as Coder<Map<string, unknown>>,
        new Map(Object.entries(v)),
      ),
    ),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.boolean())), (pairs) => {
      const map = new Map(pairs);
      roundTrips(MapCoder.of(VarIntCoder.of(), BooleanCoder.of()), map);
    }),
  );
  roundTrips(NullableCoder.of(StringUtf8Coder.of()), null);
});

test('toJson: bigints as decimal strings, bytes as base64', () => {
  assert.is(toJson(2n ** 62n), '4611686018427387904');
  assert.is(toJson(new Uint8Array([1, 2, 255])), 'AQL/');
  assert.equal(toJson(new Map([[1, 'a']])), [[1, 'a']]);
  assert.equal(toJson(new Map([['x', 1n]])), { x: '1' });
});

test('fromJson refuses what its coder cannot hold, naming it', () => {
  const bad: [unknown, Coder<unknown>, RegExp][] = [
    ['12', VarIntCoder.of() as Coder<unknown>, /expected an integer/],
    [1.5, VarLongCoder.of() as Coder<unknown>, /expected an integer/],
    [7, StringUtf8Coder.of() as Coder<unknown>, /expected a string/],
    ['not base64!', ByteArrayCoder.of() as Coder<unknown>, /base64/],
    [{ a: 1 }, ListCoder.of(VarIntCoder.of()) as Coder<unknown>, /expected an array/],
    [2 ** 40, VarIntCoder.of() as Coder<unknown>, /is not a value of VarIntCoder/],
  ];
  for (const [json, coder, reason] of bad) {
    try {
      fromJson(json, coder, 'tag t');
      assert.unreachable(`${JSON.stringify(json)} accepted by ${coder.toString()}`);
    } catch (error) {
      assert.instance(error, StateValueError);
      assert.match((error as Error).message, reason);
      assert.match((error as Error).message, /^tag t/);
    }
  }
});

const tags: StateTag<State>[] = [
  StateTags.value('total', VarLongCoder.of()),
  StateTags.bag('events', StringUtf8Coder.of()),
  StateTags.set('seen', StringUtf8Coder.of()),
  StateTags.map('byDay', StringUtf8Coder.of(), VarLongCoder.of()),
  StateTags.multimap('tags', StringUtf8Coder.of(), StringUtf8Coder.of()),
  StateTags.orderedList('timeline', StringUtf8Coder.of()),
  StateTags.combiningValue('sum', VarLongCoder.of(), {
    createAccumulator: () => 0,
    addInput: (a: number | bigint, i: number) => Number(a) + i,
    mergeAccumulators: (as: Iterable<number | bigint>) => [...as].reduce<number>((x, y) => x + Number(y), 0),
    extractOutput: (a: number | bigint) => Number(a),
  }),
] as StateTag<State>[];

test('a key as JSON: every kind of cell written and read back the same', () => {
  const state = InMemoryStateInternals.forKey('k');
  assert.is(readKeyJson(state, tags), undefined, 'no state: no value');
  const value = {
    total: 12,
    events: ['a', 'b', 'a'],
    seen: ['x', 'y'],
    byDay: { mon: 1, tue: '9007199254740993' },
    tags: { red: ['a', 'b'], blue: ['c'] },
    timeline: [
      { value: 'first', timestamp: 10 },
      { value: 'second', timestamp: 20 },
    ],
    sum: 7,
  };
  applyKeyWrite(state, parseKeyWrite(value, tags));
  assert.equal(readKeyJson(state, tags), value);
  // A subset of tags; null clears one.
  applyKeyWrite(state, parseKeyWrite({ total: 13, events: null }, tags));
  const after = readKeyJson(state, tags)!;
  assert.is(after.total, 13);
  assert.is(after.events, undefined);
  assert.equal(after.seen, ['x', 'y']);
  clearKey(state, tags);
  assert.is(readKeyJson(state, tags), undefined);
  assert.ok(state.state(StateNamespaces.global(), tags[0]!) !== undefined);
});

test('a write naming an unknown tag, or not an object, is refused before anything changes', () => {
  assert.throws(
    () => parseKeyWrite({ nope: 1 }, tags),
    (e: Error) =>
      e instanceof StateValueError &&
      /tag "nope", which the task does not have \(its tags: total value\(VarLongCoder\)/.test(e.message),
  );
  assert.throws(
    () => parseKeyWrite([1], tags),
    (e: Error) => e instanceof StateValueError && /JSON object of state cells/.test(e.message),
  );
  assert.throws(
    () => parseKeyWrite({ timeline: [{ value: 'x' }] }, tags),
    (e: Error) => /timestamp/.test(e.message),
  );
});

test.run();
