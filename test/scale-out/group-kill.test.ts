// Issue 14, test 1: three workers on a 3-node cluster share the job while a producer publishes; a
// random worker is SIGKILLed five times and restarted. Its units move to the others after the lease
// TTL and come back on rebalance; every word is counted once, in order per word.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsCluster } from '../support/nats-cluster.ts';
import { connectNats } from '../../runtime/nats/index.ts';
import { produce, referenceOutputs, streamMessages, text, type JobProcess } from '../nats/wordcount-support.ts';
import {
  createInputStream,
  finishGracefully,
  killAll,
  logsOf,
  startWorker,
  waitForMoreOutputs,
  assertWordCountsOnce,
} from './support.ts';

test('3 workers, a random one SIGKILLed 5 times and restarted: nothing lost, nothing repeated', async () => {
  await using cluster = await startNatsCluster();
  await using link = await connectNats({ nats: cluster.urls });
  await createInputStream(link, 3);
  const lines = text(6000);
  const reference = await referenceOutputs(lines);
  const workers: JobProcess[] = [startWorker(cluster.urls), startWorker(cluster.urls), startWorker(cluster.urls)];
  const everyone: JobProcess[] = [...workers];
  // Paced over ~18 s so most kills fall while the job has work.
  const producing = produce(link, lines, 100, 300);
  try {
    for (let kill = 0; kill < 5; kill++) {
      const before = await streamMessages(link, 'WORDCOUNT_OUT');
      await waitForMoreOutputs(link, before, reference.length, `progress before kill ${kill}`, workers);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 1500)));
      const victim = Math.floor(Math.random() * workers.length);
      assert.is(workers[victim]!.child.exitCode, null, logsOf(workers));
      workers[victim]!.child.kill('SIGKILL');
      await workers[victim]!.exited;
      workers[victim] = startWorker(cluster.urls);
      everyone.push(workers[victim]!);
    }
    await producing;
    await finishGracefully(link, reference.length, workers);
  } finally {
    await killAll(everyone);
    await producing.catch(() => undefined);
  }
  await assertWordCountsOnce(link, reference, logsOf(workers));
});

test.run();
