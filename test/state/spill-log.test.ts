import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { keyId } from '../../src/state/key-group-part.ts';
import { murmur3 } from '../../src/state/key-group.ts';
import { SpillLog } from '../../src/state/spill-log.ts';

const keyArb = fc.uint8Array({ minLength: 1, maxLength: 12 });

test('spill log - mayHold is true for every logged key, whatever the filter grew to', () => {
  fc.assert(
    fc.property(
      fc.array(keyArb, { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 0, max: 20_000 }),
      (keys, extra) => {
        const log = new SpillLog();
        // Extra keys first, so that the filter grows (it doubles past one key per 8 bits) between the checks.
        for (let i = 0; i < extra; i++) {
          const bytes = new TextEncoder().encode(`x${i}`);
          log.append(murmur3(bytes), 0, bytes, undefined);
        }
        for (const key of keys) log.append(murmur3(key), 1, key, key);
        for (const key of keys) assert.ok(log.mayHold(murmur3(key)));
        assert.is(log.length, extra + keys.length);
      },
    ),
    { numRuns: 60 },
  );
});

test('spill log - mostly false for keys never logged', () => {
  const log = new SpillLog();
  for (let i = 0; i < 100_000; i++) {
    const bytes = new TextEncoder().encode(`w${i}`);
    log.append(murmur3(bytes), i % 128, bytes, undefined);
  }
  let maybe = 0;
  for (let i = 0; i < 100_000; i++) if (log.mayHold(murmur3(new TextEncoder().encode(`other${i}`)))) maybe++;
  // Two bits per key at 8 to 16 bits per key: about 2-5 % false positives.
  assert.ok(maybe < 10_000, `${maybe} false positives in 100,000`);
});

test('spill log - resolve keeps the newest record of each candidate key and none of a superseded one; concat keeps order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.option(fc.uint8Array({ maxLength: 4 }))), {
        maxLength: 40,
      }),
      fc.subarray(['a', 'b', 'c', 'd']),
      fc.subarray(['a', 'b', 'c', 'd']),
      fc.integer({ min: 0, max: 40 }),
      (records, candidateKeys, supersededKeys, split) => {
        const enc = (k: string): Uint8Array => new TextEncoder().encode(k);
        const older = new SpillLog();
        const newer = new SpillLog();
        records.forEach(([k, cells], i) =>
          (i < split ? older : newer).append(murmur3(enc(k)), 7, enc(k), cells ?? undefined),
        );
        const log = older.concat(newer);
        const candidates = new Set(candidateKeys.map((k) => murmur3(enc(k)) | 0));
        const superseded = new Set(supersededKeys.filter((k) => candidateKeys.includes(k)).map((k) => keyId(enc(k))));
        log.resolve(candidates, superseded);
        const kept: string[] = [];
        for (let j = 0; j < log.length; j++)
          if (log.group(j) >= 0) kept.push(new TextDecoder().decode(log.keyBytes(j)));
        const expected: string[] = [];
        records.forEach(([k], i) => {
          if (!candidateKeys.includes(k)) expected.push(k);
          else if (!supersededKeys.includes(k) && records.findLastIndex(([x]) => x === k) === i) expected.push(k);
        });
        assert.equal(kept, expected);
      },
    ),
    { numRuns: 200 },
  );
});

test.run();
