// Issue 14, test 4: a zombie. A worker is SIGSTOPped past its lease TTL; the others take its units
// over (restoring their checkpoints, fencing its checkpoint commits); on SIGCONT it must notice it
// was fenced before it writes anything that survives dedupe, then rejoin. Every word once, in order.
import { test } from 'uvu';
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
  leasesOf,
  logsOf,
  startWorker,
  waitForMoreOutputs,
  assertWordCountsOnce,
} from './support.ts';

test('a worker stopped past its lease TTL is fenced, writes nothing that survives, and rejoins', async () => {
  await using cluster = await startNatsCluster();
  await using link = await connectNats({ nats: cluster.urls });
  await createInputStream(link, 3);
  const lines = text(6000);
  const reference = await referenceOutputs(lines);
  const workers: JobProcess[] = [startWorker(cluster.urls), startWorker(cluster.urls), startWorker(cluster.urls)];
  const producing = produce(link, lines, 100, 150);
  const fail = (e: unknown): never => {
    throw new Error(`${(e as Error).message}\n${logsOf(workers)}`);
  };
  try {
    const zombie = workers[0]!;
    await waitFor(
      async () => (await leasesOf(link, [zombie]))[0]! >= 1 && (await streamMessages(link, 'WORDCOUNT_OUT')) > 0,
      'the zombie-to-be runs a unit',
    ).catch(fail);
    zombie.child.kill('SIGSTOP');
    // Its units move to the other two once its lease expires.
    await waitFor(async () => (await leasesOf(link, [zombie]))[0]! === 0, 'the others took its units').catch(fail);
    const movedAt = await streamMessages(link, 'WORDCOUNT_OUT');
    await waitForMoreOutputs(link, movedAt, reference.length, 'progress without it', workers);
    zombie.child.kill('SIGCONT');
    await waitFor(() => /fenced itself/.test(zombie.stderr()), 'the zombie notices it was fenced').catch(fail);
    await waitFor(() => /rejoined the group/.test(zombie.stderr()), 'the zombie rejoins').catch(fail);
    await producing;
    await finishGracefully(link, reference.length, workers);
  } finally {
    await killAll(workers);
    await producing.catch(() => undefined);
  }
  await assertWordCountsOnce(link, reference, logsOf(workers));
});

test.run();
