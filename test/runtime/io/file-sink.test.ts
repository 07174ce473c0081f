// The file sink on its own: how it reports a failed write to producers waiting for its backlog.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FileSink } from '../../../runtime/io/file-sink.ts';
import { FileWriteError } from '../../../runtime/errors.ts';
import { jsonCodec } from '../../../runtime/job/codecs.ts';

/** How `promise` settled, or that it had not within `ms`. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      new Promise((resolve) => (timer = setTimeout(() => resolve(`pending after ${ms} ms`), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

test('file sink - a failed write rejects every whenUncongested() waiter with the error it reports, and later waits at once', async () => {
  const reported: unknown[] = [];
  // Every write to /dev/full fails with ENOSPC, as on a full disk.
  const sink = new FileSink<string>(
    {
      name: 'out',
      path: '/dev/full',
      maxBufferedBytes: 64,
      writeThresholdBytes: 1024 * 1024,
      onError: (error) => reported.push(error),
    },
    jsonCodec<string>(),
    () => {},
  );
  await sink.open();
  try {
    for (let i = 0; i < 10; i++) sink.data(`line ${i}`, 0, i);
    assert.ok(sink.congested);
    const waiters = [sink.whenUncongested(), sink.whenUncongested()];
    const outcomes = await Promise.all(waiters.map((waiter) => settledWithin(waiter, 2000)));
    assert.is(reported.length, 1);
    const failure = reported[0];
    assert.instance(failure, FileWriteError);
    assert.match((failure as Error).message, /ENOSPC/);
    const described = outcomes.map((outcome) => (outcome === failure ? 'rejected with it' : String(outcome)));
    assert.equal(described, ['rejected with it', 'rejected with it']);
    // The sink is failed: a producer that asks now learns it at once.
    for (let i = 0; i < 10; i++) sink.data(`again ${i}`, 0, i);
    assert.ok(sink.congested);
    assert.is(await settledWithin(sink.whenUncongested(), 2000), failure);
  } finally {
    await sink.close().catch(() => {});
  }
});

test.run();
