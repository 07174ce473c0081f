import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CoderRegistry,
  CoderUtils,
  Context,
  GlobalWindow,
  InstantCoder,
  IntervalWindow,
  PaneInfo,
  ShardedKey,
  StateBackedIterable,
  TimerValue,
  WindowedValue,
  instantMinus,
  type BoundedWindow,
  type Coder,
  type CoderSpec,
  type Timing,
} from '../../coders/index.ts';
import { instantExamples, standardCoders, type GoldenSpec } from './fixtures/standard-coders.ts';

// Beam's reference encodings (fixtures/standard-coders.ts) against our coders, built from their URNs
// through the registry, in each context the YAML names (both when it names none).

const test = suite('standard coders (Beam golden vectors)');
const registry = CoderRegistry.withStandardCoders();

const latin1 = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new Error(`fixture byte string has char ${c} > 0xff`);
    out[i] = c;
  }
  return out;
};

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The YAML's JSON-ish value as the JS value our coder uses. */
function toJs(spec: GoldenSpec, value: unknown): unknown {
  const components = spec.components ?? [];
  switch (spec.urn) {
    case 'beam:coder:bytes:v1':
      return latin1(value as string);
    case 'beam:coder:bool:v1':
    case 'beam:coder:string_utf8:v1':
    case 'beam:coder:varint:v1':
      return value;
    case 'beam:coder:double:v1':
      return Number(value as string);
    case 'beam:coder:kv:v1': {
      const kv = value as { key: unknown; value: unknown };
      return { key: toJs(components[0]!, kv.key), value: toJs(components[1]!, kv.value) };
    }
    case 'beam:coder:iterable:v1':
      return (value as unknown[]).map((v) => toJs(components[0]!, v));
    case 'beam:coder:nullable:v1':
      return value === null ? null : toJs(components[0]!, value);
    case 'beam:coder:global_window:v1':
      return GlobalWindow.INSTANCE;
    case 'beam:coder:interval_window:v1': {
      const w = value as { end: number | bigint; span: number };
      return new IntervalWindow(instantMinus(w.end, w.span), w.end);
    }
    case 'beam:coder:windowed_value:v1':
    case 'beam:coder:param_windowed_value:v1': {
      const wv = value as { value: unknown; timestamp: number | bigint; pane: YamlPane; windows: unknown[] };
      const windows = wv.windows.map((w) => toJs(components[1]!, w) as BoundedWindow);
      return WindowedValue.of(toJs(components[0]!, wv.value), wv.timestamp, windows, toPane(wv.pane));
    }
    case 'beam:coder:timer:v1': {
      const t = value as {
        userKey: unknown;
        dynamicTimerTag: string;
        windows: unknown[];
        clearBit: boolean;
        fireTimestamp: number;
        holdTimestamp: number;
        pane: YamlPane;
      };
      const windows = t.windows.map((w) => toJs(components[1]!, w) as BoundedWindow);
      const key = toJs(components[0]!, t.userKey);
      return t.clearBit
        ? TimerValue.cleared(key, t.dynamicTimerTag, windows)
        : TimerValue.of(key, t.dynamicTimerTag, windows, t.fireTimestamp, t.holdTimestamp, toPane(t.pane));
    }
    case 'beam:coder:sharded_key:v1': {
      const sk = value as { shardId: string; key: unknown };
      return ShardedKey.of(toJs(components[0]!, sk.key), latin1(sk.shardId));
    }
    case 'beam:coder:custom_window:v1':
      return toJs(components[0]!, (value as { window: unknown }).window);
    case 'beam:coder:state_backed_iterable:v1': {
      if (Array.isArray(value)) return value.map((v) => toJs(components[0]!, v));
      const sbi = value as { prefix: unknown[]; token: string };
      return new StateBackedIterable(
        sbi.prefix.map((v) => toJs(components[0]!, v)),
        latin1(sbi.token),
      );
    }
    default:
      throw new Error(`fixture has no converter for ${spec.urn}`);
  }
}

interface YamlPane {
  is_first: boolean;
  is_last: boolean;
  timing: Timing;
  index: number;
  on_time_index: number;
}

const toPane = (p: YamlPane): PaneInfo =>
  PaneInfo.createPane(p.is_first, p.is_last, p.timing, p.index, p.on_time_index);

function specName(spec: GoldenSpec): string {
  const c = spec.components ?? [];
  return c.length === 0 ? spec.urn : `${spec.urn}(${c.map(specName).join(', ')})`;
}

/** Deep equality that treats Uint8Array by content, IntervalWindow/GlobalWindow by equals, numbers by Object.is. */
function same(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'number') return Object.is(actual, expected);
  if (expected instanceof Uint8Array) return actual instanceof Uint8Array && hex(actual) === hex(expected);
  if (
    expected instanceof IntervalWindow ||
    expected instanceof GlobalWindow ||
    expected instanceof PaneInfo ||
    expected instanceof ShardedKey
  ) {
    return expected.equals(actual);
  }
  if (expected instanceof StateBackedIterable) {
    return (
      actual instanceof StateBackedIterable &&
      same(actual.prefix, expected.prefix) &&
      same(actual.token, expected.token)
    );
  }
  if (expected instanceof WindowedValue) {
    return (
      actual instanceof WindowedValue &&
      same(actual.value, expected.value) &&
      same(actual.timestamp, expected.timestamp) &&
      same([...actual.windows], [...expected.windows]) &&
      expected.pane.equals(actual.pane)
    );
  }
  if (typeof expected === 'bigint') return actual === expected;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => same(actual[i], e));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return false;
    const keys = Object.keys(expected);
    return (
      keys.length === Object.keys(actual).length &&
      keys.every((k) => same((actual as never)[k], (expected as never)[k]))
    );
  }
  return actual === expected;
}

function toRegistrySpec(spec: GoldenSpec): CoderSpec {
  return {
    urn: spec.urn,
    ...(spec.components === undefined ? {} : { components: spec.components.map(toRegistrySpec) }),
    ...(spec.payload === undefined ? {} : { payload: latin1(spec.payload) }),
  };
}

let checked = 0;
for (const section of standardCoders) {
  const contexts =
    section.nested === undefined ? [Context.OUTER, Context.NESTED] : [section.nested ? Context.NESTED : Context.OUTER];
  const coder = registry.fromSpec(toRegistrySpec(section.coder)) as Coder<unknown>;
  for (const context of contexts) {
    for (const [encoded, yamlValue] of section.examples) {
      const bytes = latin1(encoded);
      const value = toJs(section.coder, yamlValue);
      const label = `${specName(section.coder)} ${context}${section.from === undefined ? '' : ' (from ' + section.from + ')'}: ${hex(bytes) || '(empty)'}`;
      checked++;
      test(`${label} decodes to Beam's value`, () => {
        const decoded = CoderUtils.decodeFromByteArray(coder, bytes, context);
        assert.ok(same(decoded, value), `decoded ${String(decoded)} expected ${String(value)}`);
      });
      if (!section.nonDeterministic) {
        test(`${label} is what the value encodes to`, () => {
          assert.is(hex(CoderUtils.encodeToByteArray(coder, value, context)), hex(bytes));
        });
      }
    }
  }
}

for (const [encoded, millis] of instantExamples) {
  const bytes = latin1(encoded);
  for (const context of [Context.OUTER, Context.NESTED]) {
    test(`InstantCoder ${context}: ${millis} ms encodes to Beam's timestamp bytes ${hex(bytes)} and back`, () => {
      assert.is(hex(CoderUtils.encodeToByteArray(InstantCoder.of(), millis, context)), hex(bytes));
      assert.is(CoderUtils.decodeFromByteArray(InstantCoder.of(), bytes, context), millis);
    });
  }
}

test('every golden section was checked', () => {
  assert.ok(checked >= 90, `only ${checked} golden examples`);
});

test.run();
