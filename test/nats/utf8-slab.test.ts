import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Utf8Slab } from '../../runtime/nats/utf8-slab.ts';

const encoder = new TextEncoder();

test('encodes any string as TextEncoder does, lone surrogates included', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string())),
      (texts) => {
        const slab = new Utf8Slab(256);
        for (const text of texts) assert.equal(slab.encode(text), encoder.encode(text));
      },
    ),
  );
});

test('a view keeps its bytes while later strings fill this slab and the next', () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: 'binary', maxLength: 40, size: 'max' }), { minLength: 50, maxLength: 200 }),
      (texts) => {
        const slab = new Utf8Slab(1024);
        const views = texts.map((text) => slab.encode(text));
        texts.forEach((text, i) => assert.equal(views[i], encoder.encode(text)));
      },
    ),
  );
});

test('a string larger than a quarter slab gets bytes of its own', () => {
  const slab = new Utf8Slab(64);
  const small = slab.encode('abc');
  const large = slab.encode('x'.repeat(100));
  assert.is(large.length, 100);
  assert.is.not(large.buffer, small.buffer);
  assert.equal(slab.encode('def'), encoder.encode('def'));
  assert.equal(small, encoder.encode('abc'));
});

test.run();
