// A graceful stop whose final checkpoints fail is not reported as a clean one: the checkpoint
// buckets' streams refuse writes (max_msgs reached, discard new) when the worker is told to stop, so
// no unit can commit its final checkpoint; the worker's run must fail with UnitStopError naming them
// (the CLI then exits 1, not 0), and a worker started once the buckets take writes again replays
// from the last committed checkpoints: every word counted once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DiscardPolicy } from '@nats-io/jetstream';
import { connectNats } from '../../runtime/nats/index.ts';
import { UnitStopError } from '../../runtime/nats/errors.ts';
import { openWorkerRuntime } from '../../runtime/nats/open-worker.ts';
import { nats } from '../../runtime/transport.ts';
import { createLogger } from '../../runtime/log.ts';
import { job, type WordCountOutput } from '../../examples/wordcount.ts';
import { produce, readOutputs, referenceOutputs, streamMessages, text } from '../nats/wordcount-support.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { waitForProgress } from '../support/wait-for.ts';
import { assertSamePerKey } from './per-key.ts';
import { startWorker } from './in-process-worker.ts';

test('a stop whose final checkpoints fail ends the run with UnitStopError; the next worker replays; nothing lost or repeated', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const input = text(1000);
  const reference = await referenceOutputs(input);
  await produce(link, input.slice(0, 500));
  const logs: string[] = [];
  const prepared = await openWorkerRuntime({
    split: true,
    job,
    transport: nats({ servers: server.url }),
    logger: createLogger('info', { write: (line: string) => logs.push(line) > 0 } as unknown as NodeJS.WritableStream),
    // No periodic checkpoint: the first one would fail while the units run, which the group handles
    // (unit-failure.test.ts); here only the final ones are refused.
    checkpointIntervalMs: 600_000,
    maxRetries: undefined,
    http: undefined,
    leaseTtlMs: 5000,
  });
  const run = prepared.runtime.run();
  let ended: unknown;
  const jsm = await link.jetstreamManager();
  const buckets: string[] = [];
  try {
    await waitForProgress(
      async () => (await streamMessages(link, 'WORDCOUNT_OUT')) > 0,
      async () => logs.length,
      `outputs (log: ${logs.slice(-5).join('')})`,
    );
    for await (const name of jsm.streams.names()) if (name.startsWith('OBJ_')) buckets.push(name);
    assert.ok(buckets.length > 0, 'checkpoint buckets exist');
    for (const name of buckets) {
      const { state } = await jsm.streams.info(name);
      await jsm.streams.update(name, { max_msgs: Math.max(1, state.messages), discard: DiscardPolicy.New });
    }
    await prepared.runtime.stop();
    ended = await run.then(
      () => 'resolved',
      (error: unknown) => error,
    );
  } finally {
    await prepared.runtime.stop();
    await run.catch(() => undefined);
    await prepared.close();
  }
  const log = logs.join('');
  assert.instance(ended, UnitStopError, `${String(ended)}\n${log}`);
  const error = ended as UnitStopError;
  assert.is(error.code, 'NATS_UNIT_STOP_FAILED');
  assert.ok(error.units.length > 0);
  assert.match(error.message, /did not stop cleanly .*the next run replays them from their last checkpoint/);
  assert.match(log, /\[\S+\] failed while stopping: /, log);
  assert.match(log, /partition \S+ did not stop cleanly/, log);

  for (const name of buckets) await jsm.streams.update(name, { max_msgs: -1, discard: DiscardPolicy.Old });
  await produce(link, input.slice(500), input.length, 0, 500);
  const next = await startWorker(server.url, job, 5000);
  try {
    await waitForProgress(
      async () => next.state.ended !== undefined || (await streamMessages(link, 'WORDCOUNT_OUT')) >= reference.length,
      async () => (await streamMessages(link, 'WORDCOUNT_OUT')) + next.logs.length,
      'every count',
    );
    assert.is(next.state.ended, undefined, `the worker ended: ${String(next.state.ended)}\n${next.logs.join('')}`);
  } finally {
    await next.finish();
  }
  const actual = await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT'));
  assertSamePerKey(actual, reference, (line) => (JSON.parse(line) as WordCountOutput).word, next.logs.join(''));
});

test.run();
