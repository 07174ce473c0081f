import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { keyGroupFor, keyGroupRangeForPartition, murmur3, partitionForKeyGroup } from '../../src/state/index.ts';
import { asciiKeyGroupFor } from '../../src/state/key-group.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

test('key group - murmur3 x86 32-bit matches the reference vectors', () => {
  assert.is(murmur3(new Uint8Array()), 0);
  assert.is(murmur3(utf8('hello')), 0x248bfa47);
  assert.is(murmur3(utf8('The quick brown fox jumps over the lazy dog')), 0x2e4ff723);
  assert.is(murmur3(new Uint8Array([0, 0, 0, 0])), 0x2362f9de);
});

test('key group - in range and stable for equal bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array(), fc.integer({ min: 1, max: 1024 }), (bytes, max) => {
      const kg = keyGroupFor(bytes, max);
      return kg >= 0 && kg < max && kg === keyGroupFor(Uint8Array.from(bytes), max);
    }),
  );
});

test('key group - an ASCII string key has the group of its UTF-8 bytes, any other string -1', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }), fc.integer({ min: 1, max: 32768 }), (s, max) => {
      return asciiKeyGroupFor(s, max) === keyGroupFor(utf8(s), max);
    }),
  );
  for (const s of ['é', 'key-é', 'abc\u0100', 'ab\u0080', '\uffff', 'xyz\ud800', '\u0080abcd'])
    assert.is(asciiKeyGroupFor(s, 128), -1, JSON.stringify(s));
});

test('key group - partitions own contiguous ranges that cover every key group once', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 512 }), (max, p) => {
      const parallelism = Math.min(p, max);
      let expectedStart = 0;
      for (let i = 0; i < parallelism; i++) {
        const { start, end } = keyGroupRangeForPartition(i, max, parallelism);
        if (start !== expectedStart) return false;
        for (let kg = start; kg < end; kg++) if (partitionForKeyGroup(kg, max, parallelism) !== i) return false;
        expectedStart = end;
      }
      return expectedStart === max;
    }),
  );
});

test('key group - bad arguments are errors', () => {
  assert.throws(() => partitionForKeyGroup(128, 128, 4));
  assert.throws(() => partitionForKeyGroup(0, 128, 0));
  assert.throws(() => partitionForKeyGroup(0, 0, 1));
});

test.run();
