// A unit that fails after it started is handed back to the group, not the end of its worker: the
// output stream refuses publishes (max_msgs reached, discard new) so the units writing it fail past
// their retries; the worker keeps running, the group releases them and starts them again after a
// back-off; once the stream takes messages again they restore their last checkpoints and replay,
// and every word is counted once, as in an embedded run (each word's counts in any order: see the end).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DiscardPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { connectNats } from '../../runtime/nats/index.ts';
import type { TaskContext } from '../../src/index.ts';
import { job, WordCount, type WordCountOutput } from '../../examples/wordcount.ts';
import { produce, readOutputs, referenceOutputs, streamMessages, text } from '../nats/wordcount-support.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { waitFor, waitForProgress } from '../support/wait-for.ts';
import { assertSamePerKey } from './per-key.ts';
import { startWorker } from './in-process-worker.ts';
import { wordcountCountedBy } from './failing-wordcount.ts';

let opened = 0;

/** WordCount whose first open() in this process throws. */
class OpenFailsOnce extends WordCount {
  override open(ctx: TaskContext): void | Promise<void> {
    if (opened++ === 0) throw new Error('the first open() fails (test)');
    return super.open(ctx);
  }
}

const openFailsOnce = wordcountCountedBy(OpenFailsOnce);

test('a stage whose open() fails on its first attempt is released and started again; nothing lost or repeated', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const input = text(1000);
  const reference = await referenceOutputs(input);
  await produce(link, input);
  const { runtime, logs, state, finish } = await startWorker(server.url, openFailsOnce);
  try {
    await waitForProgress(
      async () => state.ended !== undefined || (await streamMessages(link, 'WORDCOUNT_OUT')) >= reference.length,
      async () => (await streamMessages(link, 'WORDCOUNT_OUT')) + logs.length,
      'every count',
    );
    assert.is(state.ended, undefined, `the worker ended: ${String(state.ended)}\n${logs.join('')}`);
    assert.ok(opened >= 3, `open() ran ${opened} times`);
    assert.match(
      logs.join(''),
      /partition count\.p\d could not start: unit count\.p\d did not start: .*the first open\(\) fails \(test\); released it, retrying in \d+ ms/,
      logs.join(''),
    );
    assert.equal([...runtime.ownedUnits].sort(), ['count.p0', 'count.p1', 'in.i0'], logs.join(''));
  } finally {
    await finish();
  }
  const actual = await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT'));
  assertSamePerKey(actual, reference, (line) => (JSON.parse(line) as WordCountOutput).word, logs.join(''));
});

test('a unit failing after it started is handed back and started again; the worker runs on; nothing lost or repeated', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const input = text(1000);
  const reference = await referenceOutputs(input);
  await produce(link, input);
  // The output stream takes 100 messages, then refuses publishes (discard new): a real, terminal
  // JetStream error for the units writing the output, after they started.
  const jsm = await link.jetstreamManager();
  await jsm.streams.add({
    name: 'WORDCOUNT_OUT',
    subjects: ['wordcount.out'],
    duplicate_window: nanos(30 * 60_000),
    max_msgs: 100,
    discard: DiscardPolicy.New,
  });
  // A 5 s TTL: with 2 s, a loaded machine (load 20 on 2 cores) delayed heartbeats past 2/3 of it, the
  // worker fenced itself and the failing incarnation was an abandoned one, which the group never hears of.
  // A refused publish is retried for 5 s here (2 minutes by default) before the unit fails.
  const { runtime, logs, state, finish } = await startWorker(server.url, job, 5000, undefined, 5000);
  const log = (): string => logs.join('');
  try {
    await waitFor(() => /\[count\.p\d\] failed: .*; handing it back to the group/.test(log()), 'a unit to fail', {
      limitMs: 400_000,
      intervalMs: 500,
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${log()}`);
    });
    assert.match(
      log(),
      /partition count\.p\d stopped on its own \(failed: .*\); released it, retrying in \d+ ms/,
      log(),
    );
    assert.is(state.ended, undefined, `the worker ended: ${String(state.ended)}`);
    // The operator fixes the stream: the released units start again and catch up.
    await jsm.streams.update('WORDCOUNT_OUT', { max_msgs: -1, discard: DiscardPolicy.Old });
    await waitForProgress(
      async () => state.ended !== undefined || (await streamMessages(link, 'WORDCOUNT_OUT')) >= reference.length,
      async () => (await streamMessages(link, 'WORDCOUNT_OUT')) + logs.length,
      'every count',
    );
    assert.is(state.ended, undefined, `the worker ended: ${String(state.ended)}\n${log()}`);
    assert.equal([...runtime.ownedUnits].sort(), ['count.p0', 'count.p1', 'in.i0'], log());
  } finally {
    await finish();
  }
  // In any order per key: the failed unit's last re-send of refused outputs may be stored once the
  // stream takes messages again, before the restarted unit's replay of earlier ones (docs/jetstream.md,
  // "Output order"). Every output once all the same.
  const actual = await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT'));
  assertSamePerKey(actual, reference, (line) => (JSON.parse(line) as WordCountOutput).word, log(), true);
});

test.run();
