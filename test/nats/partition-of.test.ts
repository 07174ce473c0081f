// partitionOf is FNV-1a (32 bit) of the key's UTF-8 bytes modulo the partition count: the published
// FNV-1a test vectors, strings hashed as their UTF-8 bytes, and the range and argument checks.
// (test/scale-out/partition-mapping.test.ts checks it against nats-server's own mapping.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { partitionOf } from '../../runtime/client.ts';

const TWO_32 = 0x1_0000_0000;

test('it is FNV-1a 32 modulo n: the reference test vectors, with n = 2^32 - 1', () => {
  // From the FNV reference (Fowler/Noll/Vo test suite): FNV-1a 32 of "", "a", "foobar".
  const vectors: [string, number][] = [
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ];
  // partitionOf(key, n) = hash mod n; with n = 2^32 - 1 the hash is recovered up to hash == n.
  for (const [key, hash] of vectors) assert.is(partitionOf(key, TWO_32 - 1), hash % (TWO_32 - 1), key);
});

test('a string is hashed as its UTF-8 bytes', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 1000 }), (key, n) => {
      assert.is(partitionOf(key, n), partitionOf(new TextEncoder().encode(key), n));
    }),
  );
});

test('the partition is in 0..n-1, and the same for the same key', () => {
  fc.assert(
    fc.property(fc.uint8Array(), fc.integer({ min: 1, max: TWO_32 - 1 }), (key, n) => {
      const p = partitionOf(key, n);
      assert.ok(Number.isInteger(p) && p >= 0 && p < n);
      assert.is(partitionOf(Uint8Array.from(key), n), p);
    }),
  );
  assert.is(partitionOf('anything', 1), 0);
});

test('partition counts that are not integers in 1..2^32-1 are refused', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, TWO_32, Number.POSITIVE_INFINITY])
    assert.throws(() => partitionOf('k', bad), /partitions must be an integer in 1\.\.4294967295/);
});

test.run();
