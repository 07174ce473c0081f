// A key's state as JSON, both ways: the state API's value model. Reads and writes go through the
// tags' coders, so what the API accepts is exactly what the task could have written itself.
import {
  BigEndianIntegerCoder,
  BigEndianLongCoder,
  BigEndianShortCoder,
  BooleanCoder,
  ByteArrayCoder,
  ByteCoder,
  CoderUtils,
  DoubleCoder,
  FloatCoder,
  InstantCoder,
  IterableCoder,
  KV,
  KvCoder,
  ListCoder,
  MapCoder,
  NullableCoder,
  SetCoder,
  StringUtf8Coder,
  TimestampedValue,
  VarIntCoder,
  VarLongCoder,
  VarLongNumberCoder,
} from '../../coders/index.ts';
import type { Coder } from '../../coders/index.ts';
import { StateNamespaces } from '../../src/index.ts';
import type {
  BagState,
  CombiningState,
  MapState,
  MultimapState,
  OrderedListState,
  SetState,
  State,
  StateInternals,
  StateTag,
  ValueState,
  WatermarkHoldState,
} from '../../src/index.ts';
import { StateValueError } from './state-api-errors.ts';

/** A JSON value as JSON.parse gives it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The value of a key: its cells in the global namespace by tag id, each converted through its tag's
 * coder (see toJson). Tags the task has not bound (in open()) are unknown and not shown. Undefined
 * when no known cell holds anything.
 */
export function readKeyJson(
  state: StateInternals<unknown>,
  tags: readonly StateTag<State>[],
): Record<string, Json> | undefined {
  const global = StateNamespaces.global();
  const out: Record<string, Json> = {};
  let any = false;
  for (const tag of tags) {
    if (tag.origin !== 'user') continue;
    const cell = state.state(global, tag);
    const value = readCell(tag, cell);
    if (value === undefined) continue;
    out[tag.id] = value;
    any = true;
  }
  return any ? out : undefined;
}

function readCell(tag: StateTag<State>, cell: State): Json | undefined {
  const spec = tag.spec;
  switch (spec.kind) {
    case 'value': {
      const value = (cell as ValueState<unknown>).read();
      return value === null ? undefined : toJson(value);
    }
    case 'bag':
    case 'set': {
      const items = [...(cell as BagState<unknown> | SetState<unknown>).read()];
      return items.length === 0 ? undefined : items.map(toJson);
    }
    case 'orderedList': {
      const items = [...(cell as OrderedListState<unknown>).read()];
      return items.length === 0
        ? undefined
        : items.map((item) => ({ value: toJson(item.value), timestamp: toJson(item.timestamp) }));
    }
    case 'map':
    case 'multimap': {
      const map = cell as MapState<unknown, unknown> | MultimapState<unknown, unknown>;
      if (map.isEmpty().read()) return undefined;
      if (spec.kind === 'map')
        return entriesJson([...(map as MapState<unknown, unknown>).entries().read()].map(([k, v]) => [k, toJson(v)]));
      const multimap = map as MultimapState<unknown, unknown>;
      return entriesJson([...multimap.keys().read()].map((k) => [k, [...multimap.get(k).read()].map(toJson)]));
    }
    case 'combining': {
      const combining = cell as CombiningState<unknown, unknown, unknown>;
      return combining.isEmpty().read() ? undefined : toJson(combining.read());
    }
    case 'watermark': {
      const hold = (cell as unknown as WatermarkHoldState).read();
      return hold === null || hold === undefined ? undefined : toJson(hold);
    }
  }
}

/** String keys give an object, other keys an array of [key, value] pairs. */
function entriesJson(entries: [unknown, Json][]): Json {
  if (entries.every(([k]) => typeof k === 'string')) return Object.fromEntries(entries as [string, Json][]);
  return entries.map(([k, v]) => [toJson(k), v]);
}

/**
 * A decoded value as JSON: numbers, strings, booleans and null as they are (NaN and ±Infinity as
 * text; -0 reads as 0, JSON has no negative zero); bigints (longs beyond
 * 2^53) as decimal strings; bytes as base64; arrays, sets and iterables as arrays; maps with string
 * keys as objects, other maps as [key, value] pairs; KVs as {key, value}; timestamped values as
 * {value, timestamp}; other objects (a KV: {key, value}) by their own fields.
 */
export function toJson(value: unknown): Json {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return String(value);
  }
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value) || value instanceof Set) return [...(value as Iterable<unknown>)].map(toJson);
  if (value instanceof Map) return entriesJson([...(value as Map<unknown, unknown>)].map(([k, v]) => [k, toJson(v)]));
  if (value instanceof TimestampedValue) return { value: toJson(value.value), timestamp: toJson(value.timestamp) };
  if (value instanceof Date) return value.toISOString();
  if (typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function')
    return [...(value as Iterable<unknown>)].map(toJson);
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
  return out;
}

/**
 * The value a coder encodes, from its JSON form (toJson's inverse, guided by the coder): longs from
 * numbers or decimal strings, bytes from base64, lists/sets/maps element by element. The result is
 * checked by encoding it.
 * @throws StateValueError naming `what` and the coder when the JSON does not fit.
 */
export function fromJson(json: unknown, coder: Coder<unknown>, what: string): unknown {
  let value: unknown;
  try {
    value = convert(json, coder, what);
    CoderUtils.encodeToByteArray(coder, value);
  } catch (error) {
    if (error instanceof StateValueError) throw error;
    throw new StateValueError(
      `${what}: ${JSON.stringify(json)?.slice(0, 80)} is not a value of ${coder.toString()} (${(error as Error).message})`,
      { cause: error },
    );
  }
  return value;
}

/** Why `json` is not a value of `coder`. */
function notConvertible(json: unknown, coder: Coder<unknown>, what: string, expected: string): never {
  throw new StateValueError(
    `${what}: expected ${expected} for ${coder.toString()}, got ${JSON.stringify(json)?.slice(0, 80)}`,
  );
}

function convert(json: unknown, coder: Coder<unknown>, what: string): unknown {
  if (coder instanceof NullableCoder) return json === null ? null : convert(json, coder.getCoderArguments()[0]!, what);
  if (coder instanceof VarLongCoder || coder instanceof BigEndianLongCoder || coder instanceof InstantCoder) {
    if (typeof json === 'number' && Number.isSafeInteger(json)) return json;
    if (typeof json === 'string' && /^-?\d+$/.test(json)) {
      const big = BigInt(json);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    return notConvertible(json, coder, what, 'an integer (or a decimal string beyond 2^53)');
  }
  if (
    coder instanceof VarLongNumberCoder ||
    coder instanceof VarIntCoder ||
    coder instanceof BigEndianIntegerCoder ||
    coder instanceof BigEndianShortCoder ||
    coder instanceof ByteCoder
  ) {
    return typeof json === 'number' && Number.isInteger(json) ? json : notConvertible(json, coder, what, 'an integer');
  }
  if (coder instanceof DoubleCoder || coder instanceof FloatCoder) {
    if (typeof json === 'number') return json;
    // toJson writes the numbers JSON has no form for as text.
    if (json === 'NaN' || json === 'Infinity' || json === '-Infinity') return Number(json);
    return notConvertible(json, coder, what, 'a number');
  }
  if (coder instanceof StringUtf8Coder)
    return typeof json === 'string' ? json : notConvertible(json, coder, what, 'a string');
  if (coder instanceof BooleanCoder)
    return typeof json === 'boolean' ? json : notConvertible(json, coder, what, 'true or false');
  if (coder instanceof ByteArrayCoder) {
    if (typeof json !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(json))
      return notConvertible(json, coder, what, 'base64 text');
    return new Uint8Array(Buffer.from(json, 'base64'));
  }
  if (coder instanceof ListCoder || coder instanceof IterableCoder || coder instanceof SetCoder) {
    if (!Array.isArray(json)) return notConvertible(json, coder, what, 'an array');
    const element = coder.getCoderArguments()[0]!;
    const items = json.map((item, i) => convert(item, element, `${what}[${i}]`));
    return coder instanceof SetCoder ? new Set(items) : items;
  }
  if (coder instanceof MapCoder) {
    const [keyCoder, valueCoder] = coder.getCoderArguments() as [Coder<unknown>, Coder<unknown>];
    return new Map(
      jsonEntries(json, what, (expected) => notConvertible(json, coder, what, expected)).map(([k, v]) => [
        convert(k, keyCoder, `${what} key`),
        convert(v, valueCoder, `${what}[${JSON.stringify(k)}]`),
      ]),
    );
  }
  if (coder instanceof KvCoder) {
    if (typeof json !== 'object' || json === null || !('key' in json) || !('value' in json))
      return notConvertible(json, coder, what, '{"key": ..., "value": ...}');
    const [keyCoder, valueCoder] = coder.getCoderArguments() as [Coder<unknown>, Coder<unknown>];
    const kv = json as { key: unknown; value: unknown };
    return KV(convert(kv.key, keyCoder, `${what}.key`), convert(kv.value, valueCoder, `${what}.value`));
  }
  // Coders of arbitrary JavaScript values (JsonCoder, MsgpackCoder) and the user's own: as parsed.
  return json;
}

/** A map's JSON: an object (string keys) or an array of [key, value] pairs. */
function jsonEntries(json: unknown, what: string, fail: (expected: string) => never): [unknown, unknown][] {
  if (Array.isArray(json)) {
    return json.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw new StateValueError(`${what}[${i}]: expected a [key, value] pair`);
      return [pair[0], pair[1]] as [unknown, unknown];
    });
  }
  if (typeof json === 'object' && json !== null) return Object.entries(json);
  return fail('an object or an array of [key, value] pairs');
}

/** A write of some of a key's cells, converted and checked: apply it with applyKeyWrite. */
export type KeyWrite = readonly { readonly tag: StateTag<State>; readonly value: unknown }[];

/**
 * Converts the JSON of a write (an object by tag id, a subset of the key's tags; null clears a
 * cell) through each tag's coder, before anything changes.
 * @throws StateValueError naming the tag when the object names an unknown tag, or a value does not fit.
 */
export function parseKeyWrite(json: unknown, tags: readonly StateTag<State>[]): KeyWrite {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new StateValueError(
      `the value must be a JSON object of state cells by tag id (${describeTags(tags)}), got ${JSON.stringify(json)?.slice(0, 80)}`,
    );
  }
  const write: { tag: StateTag<State>; value: unknown }[] = [];
  for (const id in json) {
    if (!Object.hasOwn(json, id)) continue;
    const cellJson = (json as Record<string, unknown>)[id];
    // A task binds a handful of tags: a scan costs less than a map made for each write.
    const tag = tags.find((t) => t.id === id && t.origin === 'user');
    if (tag === undefined)
      throw new StateValueError(
        `the value names tag ${JSON.stringify(id)}, which the task does not have (${describeTags(tags)})`,
      );
    write.push({ tag, value: cellJson === null ? null : convertCell(tag, cellJson) });
  }
  return write;
}

function describeTags(tags: readonly StateTag<State>[]): string {
  const user = tags.filter((t) => t.origin === 'user');
  return user.length === 0
    ? 'it has none bound in open()'
    : `its tags: ${user.map((t) => `${t.id} ${t.signature}`).join(', ')}`;
}

/** The JSON of a list-like cell. @throws StateValueError when it is not an array. */
function cellList(tag: StateTag<State>, json: unknown, what: string, expected: string): unknown[] {
  if (!Array.isArray(json))
    throw new StateValueError(
      `${what} (${tag.signature}): expected ${expected}, got ${JSON.stringify(json)?.slice(0, 80)}`,
    );
  return json as unknown[];
}

function convertCell(tag: StateTag<State>, json: unknown): unknown {
  const spec = tag.spec;
  const what = `tag ${tag.id}`;
  switch (spec.kind) {
    case 'value':
      return fromJson(json, spec.coder, what);
    case 'bag':
    case 'set':
      return cellList(tag, json, what, 'an array').map((item, i) => fromJson(item, spec.elemCoder, `${what}[${i}]`));
    case 'orderedList':
      return cellList(tag, json, what, 'an array of {"value", "timestamp"}').map((item, i) => {
        const entry = item as { value?: unknown; timestamp?: unknown };
        if (typeof item !== 'object' || item === null || !('value' in entry) || typeof entry.timestamp !== 'number') {
          throw new StateValueError(`${what}[${i}]: expected {"value": ..., "timestamp": <epoch millis>}`);
        }
        return TimestampedValue.of(fromJson(entry.value, spec.elemCoder, `${what}[${i}].value`), entry.timestamp);
      });
    case 'map':
      return jsonEntries(json, what, (expected) => {
        throw new StateValueError(`${what}: expected ${expected}`);
      }).map(([k, v]) => [
        fromJson(k, spec.keyCoder, `${what} key`),
        fromJson(v, spec.valueCoder, `${what}[${JSON.stringify(k)}]`),
      ]);
    case 'multimap':
      return jsonEntries(json, what, (expected) => {
        throw new StateValueError(`${what}: expected ${expected}`);
      }).map(([k, vs]) => {
        if (!Array.isArray(vs)) throw new StateValueError(`${what}[${JSON.stringify(k)}]: expected an array of values`);
        return [
          fromJson(k, spec.keyCoder, `${what} key`),
          vs.map((v, i) => fromJson(v, spec.valueCoder, `${what}[${JSON.stringify(k)}][${i}]`)),
        ];
      });
    case 'combining':
      return fromJson(json, spec.accumCoder, `${what} (its accumulator)`);
    case 'watermark':
      throw new StateValueError(`${what} is a watermark hold: the state API does not write holds`);
  }
}

/** Applies a parsed write to a key's state (inside a turn: a throw rolls it back). */
export function applyKeyWrite(state: StateInternals<unknown>, write: KeyWrite): void {
  const global = StateNamespaces.global();
  for (const { tag, value } of write) {
    const cell = state.state(global, tag);
    cell.clear();
    if (value === null) continue;
    switch (tag.spec.kind) {
      case 'value':
        (cell as ValueState<unknown>).write(value);
        break;
      case 'bag':
      case 'set':
      case 'orderedList':
        for (const item of value as unknown[]) (cell as BagState<unknown>).add(item);
        break;
      case 'map':
        for (const [k, v] of value as [unknown, unknown][]) (cell as MapState<unknown, unknown>).put(k, v);
        break;
      case 'multimap':
        for (const [k, vs] of value as [unknown, unknown[]][])
          for (const v of vs) (cell as MultimapState<unknown, unknown>).put(k, v);
        break;
      case 'combining':
        (cell as CombiningState<unknown, unknown, unknown>).addAccum(value);
        break;
      case 'watermark':
        break;
    }
  }
}

/** Clears every cell of the key's global namespace the task has bound (a delete). */
export function clearKey(state: StateInternals<unknown>, tags: readonly StateTag<State>[]): void {
  const global = StateNamespaces.global();
  for (const tag of tags) if (tag.origin === 'user') state.state(global, tag).clear();
}
