import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ByteWriter, CoderError } from '../../coders/index.ts';

test('ByteWriter - writeBytes of a range writes those bytes, short or long', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.nat(),
      fc.nat(),
      fc.uint8Array({ maxLength: 5 }),
      (bytes, a, b, head) => {
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
        const writer = new ByteWriter(16);
        writer.writeBytes(head);
        writer.writeBytes(bytes, start, end);
        assert.equal([...writer.view()], [...head, ...bytes.subarray(start, end)]);
      },
    ),
  );
});

test('ByteWriter - writeBytes refuses a range outside the bytes with a CoderError', () => {
  const writer = new ByteWriter();
  const bytes = new Uint8Array(8);
  for (const [start, end] of [
    [-1, 4],
    [5, 4],
    [0, 9],
    [Number.NaN, 2],
  ] as const)
    assert.throws(
      () => writer.writeBytes(bytes, start, end),
      (e: unknown) => e instanceof CoderError,
    );
  assert.is(writer.length, 0);
});

test('ByteWriter - writeLengthPrefixed writes the other writer’s length and bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const inner = new ByteWriter(4);
      inner.writeBytes(bytes);
      const expected = new ByteWriter();
      expected.writeVarLong(bytes.length);
      expected.writeBytes(bytes);
      const writer = new ByteWriter(4);
      writer.writeLengthPrefixed(inner);
      assert.equal([...writer.view()], [...expected.view()]);
    }),
  );
});

test.run();
