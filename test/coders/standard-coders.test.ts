import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CoderRegistry,
  CoderUtils,
  Context,
  GlobalWindow,
  InstantCoder,
  IntervalWindow,
  instantMinus,
  type Coder,
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
    default:
      throw new Error(`fixture has no converter for ${spec.urn}`);
  }
}

function specName(spec: GoldenSpec): string {
  const c = spec.components ?? [];
  return c.length === 0 ? spec.urn : `${spec.urn}(${c.map(specName).join(', ')})`;
}

/** Deep equality that treats Uint8Array by content, IntervalWindow/GlobalWindow by equals, numbers by Object.is. */
function same(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'number') return Object.is(actual, expected);
  if (expected instanceof Uint8Array) return actual instanceof Uint8Array && hex(actual) === hex(expected);
  if (expected instanceof IntervalWindow || expected instanceof GlobalWindow) return expected.equals(actual);
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => same(actual[i], e));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return false;
    const keys = Object.keys(expected);
    return keys.length === Object.keys(actual).length && keys.every((k) => same((actual as never)[k], (expected as never)[k]));
  }
  return actual === expected;
}

let checked = 0;
for (const section of standardCoders) {
  const contexts = section.nested === undefined ? [Context.OUTER, Context.NESTED] : [section.nested ? Context.NESTED : Context.OUTER];
  const coder = registry.fromSpec(section.coder) as Coder<unknown>;
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
  assert.ok(checked >= 60, `only ${checked} golden examples`);
});

test.run();
