import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JsonCoder, StringUtf8Coder } from '../../../src/index.ts';
import { defineJob, isJob, JobDefinitionError, json, lines } from '../../../runtime/index.ts';
import { job as wordcount } from '../../../examples/wordcount.ts';

test('defineJob - builds a job with its steps in order', () => {
  assert.ok(isJob(wordcount));
  assert.is(wordcount.name, 'wordcount');
  assert.is(wordcount.maxKeyGroups, 128);
  assert.equal(
    wordcount.steps.map((s) => s.kind),
    ['flatMap', 'keyBy', 'process'],
  );
  assert.equal(wordcount.source.name, 'in');
  assert.equal(wordcount.sink.name, 'out');
});

test('defineJob - rejects a bad name, a non-deterministic key coder and a bad parallelism', () => {
  assert.throws(() => defineJob({ name: 'has space' }), /job name/);
  const stream = defineJob({ name: 'x' }).source(lines());
  assert.throws(() => stream.keyBy((l) => ({ l }), JsonCoder.of()), /deterministic/);
  assert.throws(
    () => stream.keyBy((l) => l, StringUtf8Coder.of()).process(() => undefined as never, { parallelism: 0 }),
    /parallelism/,
  );
  assert.throws(() => stream.map((l) => l, 'same').map((l) => l, 'same'), /unique name/);
});

test('defineJob - a source, key coder or sink passed uncalled (plain JavaScript) is refused, saying what to pass', () => {
  assert.throws(
    () => defineJob({ name: 'x' }).source(lines as never),
    (error: Error) =>
      error instanceof JobDefinitionError &&
      error.message === 'job x: source() takes a source such as lines() or jsonLines(); got lines itself: pass lines()',
  );
  const stream = defineJob({ name: 'x' }).source(lines());
  assert.throws(
    () => stream.keyBy((l) => l, StringUtf8Coder as never),
    (error: Error) =>
      error instanceof JobDefinitionError &&
      error.message ===
        "job x: keyBy(fn, keyCoder) takes the key's coder as its second argument, e.g. StringUtf8Coder.of(); " +
          'got StringUtf8Coder itself: pass StringUtf8Coder.of()',
  );
  assert.throws(
    () => (stream.keyBy as (fn: (line: string) => string) => unknown)((l) => l),
    /second argument, e\.g\. StringUtf8Coder\.of\(\); got nothing$/,
  );
  assert.throws(
    () => stream.sink(json as never),
    /sink\(\) takes a sink such as json\(\) or text\(\); got json itself: pass json\(\)$/,
  );
});

test('defineJob - a partial chain can be reused: builders are immutable', () => {
  const base = defineJob({ name: 'x' }).source(lines());
  const a = base.map((l) => l.length).sink(json());
  const b = base.filter((l) => l !== '').sink(json());
  assert.equal(
    a.steps.map((s) => s.kind),
    ['map'],
  );
  assert.equal(
    b.steps.map((s) => s.kind),
    ['filter'],
  );
});

test.run();
