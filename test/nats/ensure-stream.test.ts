import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nanos } from '@nats-io/transport-node';
import { RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { startNatsServer } from '../support/nats-server.ts';
import {
  connectNats,
  ensureStream,
  ensureSubjectStream,
  subjectCovers,
  type StreamConfigError,
} from '../../runtime/nats/index.ts';

test('subject coverage follows NATS wildcards', () => {
  assert.ok(subjectCovers('wordcount.in', 'wordcount.in'));
  assert.ok(subjectCovers('wordcount.>', 'wordcount.in'));
  assert.ok(subjectCovers('wordcount.*', 'wordcount.in'));
  assert.ok(subjectCovers('>', 'a.b.c'));
  assert.ok(subjectCovers('stator.job.*.*', 'stator.job.count.*'));
  assert.not.ok(subjectCovers('wordcount.*', 'wordcount.in.x'));
  assert.not.ok(subjectCovers('wordcount.in', 'wordcount.*'));
  assert.not.ok(subjectCovers('wordcount.*', 'wordcount.>'));
  assert.not.ok(subjectCovers('wordcount.out', 'wordcount.in'));
});

test('creates a missing stream, reads its config back, and accepts it on the next call', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const jsm = await link.jetstreamManager();
  const wanted = { name: 'WORDCOUNT_OUT', subjects: ['wordcount.out'], minDuplicateWindowMs: 300_000 };
  const first = await ensureStream(jsm, wanted, link.features);
  assert.is(first.created, true);
  assert.equal(first.info.config.subjects, ['wordcount.out']);
  assert.is(first.info.config.duplicate_window, nanos(300_000));
  assert.is(first.info.config.storage, StorageType.File);
  const second = await ensureStream(jsm, wanted, link.features);
  assert.is(second.created, false);
});

test('an existing stream with other subjects is refused with what differs and what to do', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const jsm = await link.jetstreamManager();
  await jsm.streams.add({ name: 'WORDCOUNT_IN', subjects: ['x'] });
  try {
    await ensureStream(jsm, { name: 'WORDCOUNT_IN', subjects: ['wordcount.in'] });
    assert.unreachable('must refuse');
  } catch (error) {
    const e = error as StreamConfigError;
    assert.is(e.code, 'STREAM_CONFIG');
    assert.is(e.stream, 'WORDCOUNT_IN');
    assert.equal(
      e.differences.map((d) => d.field),
      ['subjects'],
    );
    assert.match(e.message, /subjects is \[x\], expected \[wordcount\.in\]/);
    assert.match(e.message, /nats stream edit WORDCOUNT_IN --subjects x,wordcount\.in/);
  }
});

test('retention, storage, a short duplicate window and a small max message size are all reported', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const jsm = await link.jetstreamManager();
  await jsm.streams.add({
    name: 'OUT',
    subjects: ['out.>'],
    retention: RetentionPolicy.Interest,
    storage: StorageType.Memory,
    duplicate_window: nanos(10_000),
    max_msg_size: 1000,
  });
  try {
    await ensureStream(jsm, { name: 'OUT', subjects: ['out.a'], minDuplicateWindowMs: 120_000, minMaxMsgSize: 4096 });
    assert.unreachable('must refuse');
  } catch (error) {
    const e = error as StreamConfigError;
    assert.equal(e.differences.map((d) => d.field).sort(), [
      'duplicate_window',
      'max_msg_size',
      'retention',
      'storage',
    ]);
    assert.match(e.message, /nats stream edit OUT --dupe-window 2m/);
    assert.match(e.message, /nats stream rm OUT/);
  }
});

test('a stream whose subjects cover the wanted ones (wildcards) with a longer window is accepted', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const jsm = await link.jetstreamManager();
  await jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'], duplicate_window: nanos(600_000) });
  const result = await ensureStream(jsm, {
    name: 'EVENTS',
    subjects: ['events.clicks'],
    minDuplicateWindowMs: 120_000,
  });
  assert.is(result.created, false);
});

test('a user subject uses the stream that already captures it, or gets its own stream', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const jsm = await link.jetstreamManager();
  await jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'] });
  const reused = await ensureSubjectStream(jsm, 'events.clicks', { defaultName: 'EVENTS_CLICKS' });
  assert.is(reused.info.config.name, 'EVENTS');
  assert.is(reused.created, false);
  const fresh = await ensureSubjectStream(jsm, 'wordcount.in', { defaultName: 'WORDCOUNT_IN' });
  assert.is(fresh.info.config.name, 'WORDCOUNT_IN');
  assert.is(fresh.created, true);
});

test.run();
