import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CoderError,
  CoderRegistry,
  CoderUtils,
  KvCoder,
  ListCoder,
  StringUtf8Coder,
  VarIntCoder,
  VarLongCoder,
  type Coder,
} from '../../coders/index.ts';

const test = suite('CoderRegistry');

test('the standard registry builds composite coders from URNs and components', () => {
  const registry = CoderRegistry.withStandardCoders();
  const coder = registry.fromSpec({
    urn: 'beam:coder:kv:v1',
    components: [
      { urn: 'beam:coder:string_utf8:v1' },
      { urn: 'beam:coder:iterable:v1', components: [{ urn: 'beam:coder:varint:v1' }] },
    ],
  });
  assert.is(coder.toString(), 'KvCoder(StringUtf8Coder, IterableCoder(VarLongCoder))');
  assert.equal(
    CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, { key: 'k', value: [1, 2] })),
    { key: 'k', value: [1, 2] },
  );
});

test('toSpec and fromSpec are inverses for standard coders', () => {
  const registry = CoderRegistry.withStandardCoders();
  const coder = KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of()) as Coder<unknown>;
  const spec = registry.toSpec(coder);
  assert.equal(spec, {
    urn: 'beam:coder:kv:v1',
    components: [{ urn: 'beam:coder:string_utf8:v1' }, { urn: 'beam:coder:varint:v1' }],
  });
  assert.is(registry.fromSpec(spec).toString(), coder.toString());
});

test('the standard registry knows exactly the standard URNs stator implements', () => {
  assert.equal(CoderRegistry.withStandardCoders().urns().sort(), [
    'beam:coder:bool:v1',
    'beam:coder:bytes:v1',
    'beam:coder:custom_window:v1',
    'beam:coder:double:v1',
    'beam:coder:global_window:v1',
    'beam:coder:interval_window:v1',
    'beam:coder:iterable:v1',
    'beam:coder:kv:v1',
    'beam:coder:length_prefix:v1',
    'beam:coder:nullable:v1',
    'beam:coder:param_windowed_value:v1',
    'beam:coder:sharded_key:v1',
    'beam:coder:state_backed_iterable:v1',
    'beam:coder:string_utf8:v1',
    'beam:coder:timer:v1',
    'beam:coder:varint:v1',
    'beam:coder:windowed_value:v1',
  ]);
});

test('a param_windowed_value spec carries its payload both ways, and needs one', () => {
  const registry = CoderRegistry.withStandardCoders();
  const payload = Uint8Array.from(Buffer.from('\x7F\xdf;dZ\x1C\xac\t\x00\x00\x00\x01\x0F\x00', 'latin1'));
  const spec = {
    urn: 'beam:coder:param_windowed_value:v1',
    components: [{ urn: 'beam:coder:varint:v1' }, { urn: 'beam:coder:global_window:v1' }],
    payload,
  };
  assert.equal(registry.toSpec(registry.fromSpec(spec)), spec);
  assert.throws(
    () => registry.fromSpec({ urn: spec.urn, components: spec.components }),
    (e: unknown) => e instanceof CoderError && /needs a payload/.test((e as Error).message),
  );
});

test('registries are independent: nothing is registered globally', () => {
  const a = CoderRegistry.empty().register('example:coder:list:v1', 1, ([e]) => ListCoder.of(e!));
  assert.ok(a.has('example:coder:list:v1'));
  assert.not.ok(CoderRegistry.withStandardCoders().has('example:coder:list:v1'));
  assert.is(CoderRegistry.empty().urns().length, 0);
  assert.is(
    a.fromUrn('example:coder:list:v1', [VarIntCoder.of() as Coder<unknown>]).toString(),
    'ListCoder(VarIntCoder)',
  );
});

test('an unknown URN, a wrong component count, or a coder without URN is a CoderError', () => {
  const registry = CoderRegistry.withStandardCoders();
  assert.throws(
    () => registry.fromUrn('beam:coder:row:v1'),
    (e: unknown) =>
      e instanceof CoderError && /no coder registered for URN beam:coder:row:v1/.test((e as Error).message),
  );
  assert.throws(
    () => registry.fromUrn('beam:coder:kv:v1', [VarLongCoder.of() as Coder<unknown>]),
    (e: unknown) => e instanceof CoderError && /takes 2 component coders, got 1/.test((e as Error).message),
  );
  assert.throws(
    () => registry.toSpec(ListCoder.of(VarLongCoder.of()) as Coder<unknown>),
    (e: unknown) => e instanceof CoderError,
  );
});

test.run();
