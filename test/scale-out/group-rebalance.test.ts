// Issue 14, test 2: one worker, then a second and a third join while it runs (the units spread out,
// moving only what must move), then two stop with SIGTERM (they hand their units over after a final
// checkpoint). Every word is counted once, in order per word.
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
  waitForAllOutputs,
  type JobProcess,
} from '../nats/wordcount-support.ts';
import { createInputStream, killAll, leasesOf, logsOf, startWorker, assertWordCountsOnce } from './support.ts';

/** Whether another worker took `unit` from `worker` as from a dead or fenced one (not handed over). */
function movedAsAfterCrash(workers: readonly JobProcess[], worker: JobProcess, unit: string): boolean {
  const took = new RegExp(
    `took partition ${unit.replace('.', '\\.')} from \\S+-${worker.child.pid} \\((lease expired|holder fenced)\\)`,
  );
  return workers.some((other) => other !== worker && took.test(other.stderr()));
}

test('workers joining and leaving while the job runs: units spread and hand over, nothing lost or repeated', async () => {
  await using cluster = await startNatsCluster();
  await using link = await connectNats({ nats: cluster.urls });
  await createInputStream(link, 3);
  const lines = text(6000);
  const reference = await referenceOutputs(lines);
  const first = startWorker(cluster.urls);
  const workers: JobProcess[] = [first];
  const producing = produce(link, lines, 100, 150);
  try {
    await waitFor(async () => (await streamMessages(link, 'WORDCOUNT_OUT')) > 0, 'first outputs');
    assert.equal(await leasesOf(link, workers), [5], logsOf(workers));
    workers.push(startWorker(cluster.urls));
    await waitFor(
      async () =>
        (await leasesOf(link, workers)).join() === [3, 2].join() ||
        (await leasesOf(link, workers)).join() === [2, 3].join(),
      'the second worker took units',
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${logsOf(workers)}`);
    });
    workers.push(startWorker(cluster.urls));
    await waitFor(
      async () => (await leasesOf(link, workers)).sort().join() === [1, 2, 2].join(),
      'the units spread over 3 workers',
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${logsOf(workers)}`);
    });
    // Two leave gracefully: their units go to the one left, from their final checkpoints.
    for (const leaving of [workers[0]!, workers[1]!]) {
      leaving.child.kill('SIGTERM');
      assert.is((await leaving.exited).code, 0, logsOf(workers));
    }
    const last = workers[2]!;
    await waitFor(async () => (await leasesOf(link, [last]))[0] === 5, 'the last worker runs every unit').catch(
      (e: unknown) => {
        throw new Error(`${(e as Error).message}\n${logsOf(workers)}`);
      },
    );
    await producing;
    await waitForAllOutputs(
      link,
      reference.length,
      () => last.stderr().length,
      () => last.child.exitCode !== null,
    );
    last.child.kill('SIGTERM');
    assert.is((await last.exited).code, 0, logsOf(workers));
    // A graceful handover never has two owners of a unit at once: nobody's checkpoint was fenced by
    // another owner's. (A worker may still stall past its lease when the machine is too loaded to
    // send its heartbeats in time; its units then move as after a crash, which the output check
    // covers, and a checkpoint it commits on waking is fenced, before or after it fences itself.)
    const overlaps = workers.flatMap((worker) =>
      worker
        .stderr()
        .split('\n')
        .filter((line) => /\] fenced: another worker/.test(line))
        .filter((line) => !movedAsAfterCrash(workers, worker, /\[(\S+)\]/.exec(line)![1]!)),
    );
    assert.equal(overlaps, [], `a graceful handover fences nobody\n${logsOf(workers)}`);
  } finally {
    await killAll(workers);
    await producing.catch(() => undefined);
  }
  await assertWordCountsOnce(link, reference, logsOf(workers));
});

test.run();
