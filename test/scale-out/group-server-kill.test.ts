// Issue 14, test 3: the NATS server leading the job's exchange stream is SIGKILLed mid-run and
// restarted later. Everything is R3, so the cluster keeps the job; workers reconnect to the other
// servers. Every word is counted once (in any order per word: publishes retried across the crash
// may be stored after later ones).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsCluster } from '../support/nats-cluster.ts';
import { connectNats } from '../../runtime/nats/index.ts';
import {
  produce,
  referenceOutputs,
  streamMessages,
  text,
  waitFor,
  type JobProcess,
} from '../nats/wordcount-support.ts';
import {
  createInputStream,
  finishGracefully,
  killAll,
  logsOf,
  startWorker,
  waitForMoreOutputs,
  assertWordCountsOnce,
} from './support.ts';

test('the server leading the exchange stream killed mid-run and restarted: nothing lost, nothing repeated', async () => {
  await using cluster = await startNatsCluster();
  await using link = await connectNats({ nats: cluster.urls });
  await createInputStream(link, 3);
  const lines = text(6000);
  const reference = await referenceOutputs(lines);
  const workers: JobProcess[] = [startWorker(cluster.urls), startWorker(cluster.urls)];
  const producing = produce(link, lines, 100, 150);
  const fail = (e: unknown): never => {
    throw new Error(`${(e as Error).message}\n${logsOf(workers)}`);
  };
  try {
    await waitFor(async () => (await streamMessages(link, 'WORDCOUNT_OUT')) > 2000, 'progress').catch(fail);
    const leader = await cluster.streamLeader('STATOR_WORDCOUNT_COUNT');
    assert.ok(leader !== undefined, 'the exchange stream has a leader');
    const node = cluster.nodes[leader]!;
    await node.kill();
    const afterKill = await streamMessages(link, 'WORDCOUNT_OUT');
    await waitForMoreOutputs(link, afterKill, reference.length, 'progress without the killed server', workers);
    await node.restart();
    await producing;
    await finishGracefully(link, reference.length, workers);
  } finally {
    await killAll(workers);
    await producing.catch(() => undefined);
  }
  await assertWordCountsOnce(link, reference, logsOf(workers), true);
});

test.run();
