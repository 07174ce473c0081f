import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { jetStreamBucketName, MAX_BUCKET_NAME_LENGTH } from '../../runtime/checkpoint/jetstream-bucket-name.ts';

test('bucket name - usual names stay readable', () => {
  assert.is(jetStreamBucketName('wordcount', 'counter'), 'stator-wordcount-counter');
  assert.is(jetStreamBucketName('word-count', 'a_b'), 'stator-word_2dcount-a_5fb');
  assert.is(jetStreamBucketName('j', 't', 'myapp'), 'myapp-j-t');
});

test('bucket name - any job and task map to a valid NATS bucket name', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, unit: 'grapheme' }), fc.string({ minLength: 1 }), (job, task) => {
      const name = jetStreamBucketName(job, task);
      return /^[-\w]+$/.test(name) && name.length <= MAX_BUCKET_NAME_LENGTH;
    }),
  );
});

test('bucket name - different job+task pairs never share a bucket', () => {
  fc.assert(
    fc.property(
      fc.tuple(fc.string({ minLength: 1 }), fc.string({ minLength: 1 })),
      fc.tuple(fc.string({ minLength: 1 }), fc.string({ minLength: 1 })),
      ([jobA, taskA], [jobB, taskB]) => {
        fc.pre(jobA !== jobB || taskA !== taskB);
        return jetStreamBucketName(jobA, taskA) !== jetStreamBucketName(jobB, taskB);
      },
    ),
  );
  // Separators and escapes cannot be confused: these would collide under a naive "_"-joined scheme.
  const names = [
    ['a', 'b_c'],
    ['a_b', 'c'],
    ['a-b', 'c'],
    ['a', 'b-c'],
    ['a.', '2e'],
    ['a', '2e.'],
  ].map(([j, t]) => jetStreamBucketName(j!, t!));
  assert.is(new Set(names).size, names.length);
});

test('bucket name - long names are cut and keep apart by a hash', () => {
  const long = 'x'.repeat(200);
  const a = jetStreamBucketName(long, 'a');
  const b = jetStreamBucketName(long, 'b');
  assert.ok(a.length <= MAX_BUCKET_NAME_LENGTH && b.length <= MAX_BUCKET_NAME_LENGTH);
  assert.is.not(a, b);
});

test('bucket name - empty names and bad prefixes are refused', () => {
  assert.throws(
    () => jetStreamBucketName('', 't'),
    (error: { code?: string }) => error.code === 'CHECKPOINT_CONFIG',
  );
  assert.throws(
    () => jetStreamBucketName('j', 't', 'with.dot'),
    (error: { code?: string }) => error.code === 'CHECKPOINT_CONFIG',
  );
});

test.run();
