import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ByteArrayCoder,
  CoderUtils,
  KvCoder,
  ShardedKey,
  ShardedKeyCoder,
  StringUtf8Coder,
  VarLongCoder,
  type Coder,
} from '../../coders/index.ts';
import {
  coderConsistentWithEquals,
  coderDecodeEncodeEqual,
  coderDeterministic,
  structuralValueConsistentWithEquals,
  structuralValueDecodeEncodeEqual,
} from './support/coder-properties.ts';

// Ports of Beam Java's ShardedKeyTest (names kept) and Python's coders_test_common.py
// test_sharded_key_coder. Adapted: Python's TupleCoder((StrUtf8Coder, VarIntCoder)) is KvCoder here
// (the same bytes: a sharded key writes its key NESTED, and then both parts are NESTED).
// Not ported: testIntShardNumber, testIntShardNumberEquality, testIntShardNumberCoderRoundTrip and
// testGetShardNumberPreservedAfterCoderRoundTrip (a newer Java convenience, ShardedKey.of(key, int),
// whose byte layout of the int could not be checked against Beam's source here), coderSerializable,
// Python's cloud-object and type-hint checks.

const test = suite('ShardedKeyCoder (Beam ShardedKeyTest, coders_test_common)');
const KEY = 'key';
const EMPTY_SHARD = new Uint8Array(0);
const SHARD = new TextEncoder().encode('shard_id');
const coder = ShardedKeyCoder.of(StringUtf8Coder.of());

test('ShardedKeyTest.testStructuralValueEqual', () => {
  structuralValueDecodeEncodeEqual(coder, ShardedKey.of(KEY, SHARD));
  structuralValueDecodeEncodeEqual(coder, ShardedKey.of(KEY, EMPTY_SHARD));
  structuralValueConsistentWithEquals(
    coder,
    ShardedKey.of(KEY, new TextEncoder().encode('shard_id')),
    ShardedKey.of(KEY, new TextEncoder().encode('shard_id')),
  );
  structuralValueConsistentWithEquals(
    coder,
    ShardedKey.of(KEY, new Uint8Array(0)),
    ShardedKey.of(KEY, new Uint8Array(0)),
  );
});

test('ShardedKeyTest.testDecodeEncodeEqual', () => {
  coderDecodeEncodeEqual(coder, ShardedKey.of(KEY, SHARD));
  coderDecodeEncodeEqual(coder, ShardedKey.of(KEY, EMPTY_SHARD));
  coderConsistentWithEquals(
    coder,
    ShardedKey.of(KEY, new TextEncoder().encode('shard_id')),
    ShardedKey.of(KEY, new TextEncoder().encode('shard_id')),
  );
  coderConsistentWithEquals(coder, ShardedKey.of(KEY, new Uint8Array(0)), ShardedKey.of(KEY, new Uint8Array(0)));
  coderDeterministic(
    coder,
    ShardedKey.of(KEY, new TextEncoder().encode('shard_id')),
    ShardedKey.of(KEY, new TextEncoder().encode('shard_id')),
  );
  coderDeterministic(coder, ShardedKey.of(KEY, new Uint8Array(0)), ShardedKey.of(KEY, new Uint8Array(0)));
});

test('ShardedKeyTest.testEquality', () => {
  assert.ok(ShardedKey.of('key', new Uint8Array(0)).equals(ShardedKey.of('key', new Uint8Array(0))));
  assert.ok(
    ShardedKey.of('key', new TextEncoder().encode('shard_id')).equals(
      ShardedKey.of('key', new TextEncoder().encode('shard_id')),
    ),
  );
  assert.not.ok(ShardedKey.of('key', new Uint8Array([1])).equals(ShardedKey.of('key', new Uint8Array([2]))));
});

const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

test('coders_test_common.test_sharded_key_coder', () => {
  const keyAndCoders: Array<[key: unknown, bytes: string, keyCoder: Coder<unknown>]> = [
    [new Uint8Array(0), '\x00', ByteArrayCoder.of() as Coder<unknown>],
    [latin1('key'), '\x03key', ByteArrayCoder.of() as Coder<unknown>],
    ['key', '\x03\x6b\x65\x79', StringUtf8Coder.of() as Coder<unknown>],
    [{ key: 'k', value: 1 }, '\x01\x6b\x01', KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of()) as Coder<unknown>],
  ];
  const same = (a: ShardedKey<unknown>, b: ShardedKey<unknown>): void =>
    assert.equal([a.key, a.shardId], [b.key, b.shardId]);
  for (const [key, bytesRepr, keyCoder] of keyAndCoders) {
    const c = ShardedKeyCoder.of(keyCoder);
    assert.is(
      Buffer.from(CoderUtils.encodeToByteArray(c, ShardedKey.of(key, new Uint8Array(0)))).toString('latin1'),
      '\x00' + bytesRepr,
    );
    assert.is(
      Buffer.from(CoderUtils.encodeToByteArray(c, ShardedKey.of(key, latin1('123')))).toString('latin1'),
      '\x03123' + bytesRepr,
    );
    for (const shard of [new Uint8Array(0), latin1('123')])
      same(CoderUtils.clone(c, ShardedKey.of(key, shard)), ShardedKey.of(key, shard));
    for (const [otherKey, , otherCoder] of keyAndCoders) {
      const pair = KvCoder.of(c, ShardedKeyCoder.of(otherCoder));
      for (const shard of [new Uint8Array(0), latin1('123')]) {
        const value = { key: ShardedKey.of(key, shard), value: ShardedKey.of(otherKey, new Uint8Array(0)) };
        const back = CoderUtils.clone(pair, value);
        same(back.key, value.key);
        same(back.value, value.value);
      }
    }
  }
});

test('property: any shard bytes and key round-trip; the shard id is written first, length-prefixed', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.string(), (shard, key) => {
      coderDecodeEncodeEqual(coder, ShardedKey.of(key, shard));
      const bytes = CoderUtils.encodeToByteArray(coder, ShardedKey.of(key, shard));
      assert.is(bytes[0], shard.length); // under 128: a one-byte varint
      assert.equal(bytes.subarray(1, 1 + shard.length), shard);
    }),
  );
});

test.run();
