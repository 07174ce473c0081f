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

/**
 * False positives on keys never added, against the filter's design: each segment filled to its
 * capacity (12 bits per key, 3 set by each) answers true for (1 - e^(-3/12))^3 of them, about
 * 1.08 %, and a lookup asks every segment; an absent key whose 32-bit hash is an added key's is
 * answered true too (keyCount / 2^32 of them). The keys are one partition's (their hashes share the
 * key-group bits), as a backend's filter holds them.
 */
function falsePositives(keyCount: number, maxKeyGroups: number, partitions: number): { rate: number; bound: number } {
  const groups = Math.ceil(maxKeyGroups / partitions);
  const ofPartition = function* (prefix: string): Generator<number> {
    for (let i = 0; ; i++) {
      const hash = murmur3(new TextEncoder().encode(`${prefix}${i}`));
      if (hash % maxKeyGroups < groups) yield hash;
    }
  };
  const filter = new KeyFilter();
  let added = 0;
  for (const hash of ofPartition('key-')) {
    if (added++ === keyCount) break;
    filter.add(hash);
  }
  const probes = 200_000;
  let maybe = 0;
  let probed = 0;
  for (const hash of ofPartition('absent-')) {
    if (probed++ === probes) break;
    if (filter.mayHold(hash)) maybe++;
  }
  // Segments of 2^16, 2^17... bits: their count from the filter's bytes.
  const segments = Math.round(Math.log2(filter.bytes / 2 ** 13 + 1));
  // Each full segment holds 2^16 × 2^s / 12 keys: at most this many segments hold keyCount keys.
  const needed = Math.ceil(Math.log2((keyCount * 12) / 2 ** 16 + 1));
  assert.ok(segments <= needed, `${segments} segments for ${keyCount} keys (the design needs ${needed})`);
  const perSegment = (1 - Math.exp(-3 / 12)) ** 3;
  const design = 1 - (1 - perSegment) ** segments + keyCount / 2 ** 32;
  // Four standard deviations of the measured rate above the design's.
  return { rate: maybe / probes, bound: design + 4 * Math.sqrt((design * (1 - design)) / probes) };
}

test('key filter - false positives within its design, filled far past its first segment (keys of one partition)', () => {
  for (const [maxKeyGroups, partitions] of [
    [128, 1],
    [128, 4],
    [32768, 4],
  ] as const) {
    const { rate, bound } = falsePositives(300_000, maxKeyGroups, partitions);
    assert.ok(
      rate <= bound,
      `${(rate * 100).toFixed(2)} % false positives above the design's ${(bound * 100).toFixed(2)} % (max key groups ${maxKeyGroups}, partition 1 of ${partitions})`,
    );
  }
});

test.run();
