import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { murmur3 } from '../../src/state/key-group.ts';
import { KeyFilter } from '../../src/state/key-filter.ts';

test('key filter - never says absent for a key added, across the segments it grows', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 16 }), { minLength: 1, maxLength: 200 }),
      fc.integer({ min: 0, max: 60_000 }),
      (keys, extra) => {
        const filter = new KeyFilter();
        // Keys before, between and after the extra ones, so that they land in different segments.
        const third = Math.ceil(keys.length / 3);
        const added: Uint8Array[] = [];
        const add = (key: Uint8Array): void => {
          filter.add(murmur3(key));
          added.push(key);
        };
        keys.slice(0, third).forEach(add);
        for (let i = 0; i < extra; i++) filter.add(murmur3(new TextEncoder().encode(`x${i}`)));
        keys.slice(third).forEach(add);
        for (const key of added) assert.ok(filter.mayHold(murmur3(key)));
      },
    ),
    { numRuns: 40 },
  );
});

test('key filter - says absent for most keys never added (about 1 % false positives per full segment)', () => {
  const filter = new KeyFilter();
  for (let i = 0; i < 1_000_000; i++) filter.add(murmur3(new TextEncoder().encode(`w${i}`)));
  let maybe = 0;
  for (let i = 0; i < 100_000; i++) if (filter.mayHold(murmur3(new TextEncoder().encode(`other${i}`)))) maybe++;
  assert.ok(maybe < 10_000, `${maybe} false positives in 100,000`);
});

test('key filter - keys added again do not grow it', () => {
  const filter = new KeyFilter();
  const hashes = Array.from({ length: 50_000 }, (_, i) => murmur3(new TextEncoder().encode(`k${i}`)));
  for (const h of hashes) filter.add(h);
  const bytes = filter.bytes;
  // As a store's filter sees keys evicted, read back and evicted again.
  for (let round = 0; round < 20; round++) for (const h of hashes) filter.add(h);
  assert.is(filter.bytes, bytes);
  for (const h of hashes) assert.ok(filter.mayHold(h));
});

test.run();
