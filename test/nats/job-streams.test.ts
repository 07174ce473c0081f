import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nanos } from '@nats-io/transport-node';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats, ensureJobStreams, trimConsumed } from '../../runtime/nats/index.ts';
import { trimConsumedOutsideWindow } from '../../runtime/nats/job-streams.ts';

const spec = {
  job: 'wordcount',
  inputSubject: 'wordcount.in',
  outputSubject: 'wordcount.out',
  exchangeStages: ['count'],
  duplicateWindowMs: 900_000,
};

test('creates the input, exchange, output and dead-letter streams once, with the naming scheme', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const first = await ensureJobStreams(link, spec);
  assert.equal(
    [first.input.stream, first.output.stream, first.exchanges.get('count')?.stream, first.deadLetters.stream],
    ['WORDCOUNT_IN', 'WORDCOUNT_OUT', 'STATOR_WORDCOUNT_COUNT', 'STATOR_WORDCOUNT_DLQ'],
  );
  assert.is(first.exchanges.get('count')?.subject, 'stator.wordcount.count.*');
  assert.is(first.names.exchangeSubject('count', 3), 'stator.wordcount.count.p3');
  assert.ok(first.input.created && first.output.created && first.deadLetters.created);
  const jsm = await link.jetstreamManager();
  assert.is((await jsm.streams.info('WORDCOUNT_OUT')).config.duplicate_window, nanos(900_000));
  const second = await ensureJobStreams(link, spec);
  assert.not.ok(
    second.input.created ||
      second.output.created ||
      second.deadLetters.created ||
      second.exchanges.get('count')?.created,
  );
});

test('an output stream with a too-short duplicate window stops the job with the fix', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const jsm = await link.jetstreamManager();
  await jsm.streams.add({ name: 'RESULTS', subjects: ['wordcount.out'], duplicate_window: nanos(60_000) });
  try {
    await ensureJobStreams(link, spec);
    assert.unreachable('must refuse');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'STREAM_CONFIG');
    assert.match(
      (error as Error).message,
      /stream RESULTS exists but does not fit: duplicate_window is 1m, expected at least 15m \(raise it: nats stream edit RESULTS --dupe-window 15m\)/,
    );
  }
});

test('trimming an exchange subject keeps the messages from the given sequence on', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const streams = await ensureJobStreams(link, spec);
  for (let i = 0; i < 10; i++)
    await link.js.publish(streams.names.exchangeSubject('count', i % 2), new Uint8Array([i]));
  const jsm = await link.jetstreamManager();
  const stream = streams.exchanges.get('count')!.stream;
  // p0 holds sequences 1,3,5,7,9: keep from 6 on, so 1, 3 and 5 go.
  assert.is(await trimConsumed(jsm, stream, 'stator.wordcount.count.p0', 6), 3);
  assert.is((await jsm.streams.info(stream)).state.messages, 7);
  assert.is(await trimConsumed(jsm, stream, 'stator.wordcount.count.p1', 1), 0);
  assert.is(streams.exchanges.get('count')!.duplicateWindowMs, 900_000);
});

test('trimming after a rescale keeps what the duplicate window covers: a restarted server remembers only stored ids', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const streams = await ensureJobStreams(link, spec);
  const stream = streams.exchanges.get('count')!.stream;
  for (let i = 0; i < 3; i++) await link.js.publish(streams.names.exchangeSubject('count', i), new Uint8Array([i]));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await link.js.publish(streams.names.exchangeSubject('count', 0), new Uint8Array([3]));
  // All four were read (keep from 5), but all are within a 15-minute window of the last: none goes.
  assert.is(await trimConsumedOutsideWindow(link, stream, 5, 900_000), 0);
  // Within a one-second window of the last message is only the last one.
  assert.is(await trimConsumedOutsideWindow(link, stream, 5, 1000), 3);
  const jsm = await link.jetstreamManager();
  assert.is((await jsm.streams.info(stream)).state.messages, 1);
});

test('a later run needing a wider duplicate window widens the streams stator created, and refuses a stream someone else made', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  // The first run (say --max-outage 3s) sized the windows at 6 min; the next (defaults) needs 8 min.
  await ensureJobStreams(link, { ...spec, duplicateWindowMs: 360_000 });
  const later = await ensureJobStreams(link, { ...spec, duplicateWindowMs: 480_000 });
  assert.equal(later.output.widenedDuplicateWindow, { fromMs: 360_000, toMs: 480_000 });
  assert.equal(later.deadLetters.widenedDuplicateWindow, { fromMs: 360_000, toMs: 480_000 });
  assert.equal(later.exchanges.get('count')?.widenedDuplicateWindow, { fromMs: 360_000, toMs: 480_000 });
  assert.is(later.input.widenedDuplicateWindow, undefined);
  const jsm = await link.jetstreamManager();
  assert.is((await jsm.streams.info('WORDCOUNT_OUT')).config.duplicate_window, nanos(480_000));
  const again = await ensureJobStreams(link, { ...spec, duplicateWindowMs: 360_000 });
  assert.is(again.output.widenedDuplicateWindow, undefined, 'never narrowed');

  await jsm.streams.add({ name: 'THEIRS', subjects: ['theirs.out'], duplicate_window: nanos(360_000) });
  const refused = await ensureJobStreams(link, {
    ...spec,
    job: 'theirs',
    inputSubject: 'theirs.in',
    outputSubject: 'theirs.out',
    duplicateWindowMs: 480_000,
  }).then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  );
  assert.is(refused?.code, 'STREAM_CONFIG');
  assert.match(refused!.message, /THEIRS exists but does not fit: duplicate_window is 6m, expected at least 8m/);
});

test('a pre-partitioned input: the input stream captures <in> and <in>.>, added to a stream stator created, refused on one it did not', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const jsm = await link.jetstreamManager();
  // A first run with one input subject; the next reads partitions too: the subjects are added.
  await ensureJobStreams(link, spec);
  assert.equal((await jsm.streams.info('WORDCOUNT_IN')).config.subjects, ['wordcount.in']);
  const partitioned = await ensureJobStreams(link, { ...spec, partitionedInput: true });
  assert.equal(partitioned.input.addedSubjects, ['wordcount.in.>']);
  assert.equal((await jsm.streams.info('WORDCOUNT_IN')).config.subjects, ['wordcount.in', 'wordcount.in.>']);
  const again = await ensureJobStreams(link, { ...spec, partitionedInput: true });
  assert.is(again.input.addedSubjects, undefined);
  // Plain <in> still lands in the same stream, next to a partition's subject.
  await link.js.publish('wordcount.in', new Uint8Array([1]));
  await link.js.publish('wordcount.in.2', new Uint8Array([2]));
  assert.is((await jsm.streams.info('WORDCOUNT_IN')).state.messages, 2);

  // A producer's own stream on the plain subject only is reported with the command that fixes it.
  await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.in'] });
  const refused = await ensureJobStreams(link, {
    ...spec,
    job: 'orders',
    inputSubject: 'orders.in',
    outputSubject: 'orders.out',
    partitionedInput: true,
  }).then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  );
  assert.is(refused?.code, 'STREAM_CONFIG');
  assert.match(
    refused!.message,
    /ORDERS exists but does not fit: subjects is \[orders\.in\], expected \[orders\.in, orders\.in\.>\] \(add them: nats stream edit ORDERS --subjects orders\.in,orders\.in\.>\)/,
  );
});

test.run();
