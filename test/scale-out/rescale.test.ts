// Issue 14, test 5: a scaled-out job rescaled between runs. Workers run wordcount with 4 partitions
// while a producer publishes and stop (SIGTERM); the next workers start with 6: one of them drains
// the old layout's exchange, cuts the state by key group into the 6 new units and records the new
// layout; they stop mid-stream again and the last workers go back to 4. Every word is counted once,
// in order per word, as in one embedded run over the whole input.
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
  stopWorkers,
  waitForMoreOutputs,
  assertWordCountsOnce,
} from './support.ts';

test('rescale 4 -> 6 -> 4 between runs of two workers each: nothing lost or repeated', async () => {
  await using cluster = await startNatsCluster();
  await using link = await connectNats({ nats: cluster.urls });
  await createInputStream(link, 3);
  const lines = text(6000, 11);
  const reference = await referenceOutputs(lines);
  const workers: JobProcess[] = [];
  const producing = produce(link, lines, 100, 150);
  const run = (parallelism: number): JobProcess[] => {
    const started = [0, 1].map(() => startWorker(cluster.urls, 3, ['--parallelism', `count=${parallelism}`]));
    workers.push(...started);
    return started;
  };
  const stop = (stopping: readonly JobProcess[]): Promise<void> => stopWorkers(stopping, workers);
  try {
    const four = run(4);
    await waitForMoreOutputs(link, 0, reference.length, 'outputs with 4 partitions', workers);
    await stop(four);
    const six = run(6);
    // The rescale's drain publishes outputs of the old layout: count those of the new one only.
    await waitFor(() => six.every((w) => /joined the group/.test(w.stderr())), 'both joined with 6 partitions');
    const before = await streamMessages(link, 'WORDCOUNT_OUT');
    await waitForMoreOutputs(link, before, reference.length, 'outputs with 6 partitions', workers);
    await stop(six);
    const logs = six.map((w) => w.stderr()).join('\n');
    assert.match(logs, /rescaled stage count from 4 to 6 partitions/, logsOf(workers));
    assert.match(logs, /now runs with parallelism count=6 \(was parallelism count=4\)/, logsOf(workers));
    const back = run(4);
    await producing;
    await finishGracefully(link, reference.length, back);
    assert.match(
      back.map((w) => w.stderr()).join('\n'),
      /rescaled stage count from 6 to 4 partitions/,
      logsOf(workers),
    );
  } finally {
    await killAll(workers);
    await producing.catch(() => undefined);
  }
  await assertWordCountsOnce(link, reference, logsOf(workers));
});

test.run();
