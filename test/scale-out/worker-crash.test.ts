// A scaled-out worker as a real process (`stator run --scale-out`), SIGKILLed at random points while
// a producer publishes, restarted each time: every word counted once, in order per word, as in an
// uninterrupted embedded run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats, openStreamSource } from '../../runtime/nats/index.ts';
import {
  produce,
  readOutputs,
  referenceOutputs,
  startJob,
  streamMessages,
  text,
  waitFor,
  waitForAllOutputs,
  type JobProcess,
} from '../nats/wordcount-support.ts';
import { assertSamePerKey } from './per-key.ts';

test('a worker killed 4 times at random points loses and repeats nothing', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(6000);
  const reference = await referenceOutputs(lines);
  // Paced over ~18 s so the kills fall while there is work (the job keeps up with a faster producer).
  const producing = produce(link, lines, 200, 600);
  let job: JobProcess | undefined;
  let log = '';
  try {
    for (let kill = 0; kill < 4; kill++) {
      job = startJob(server.url, ['--scale-out']);
      const before = await streamMessages(link, 'WORDCOUNT_OUT');
      // Some progress (or none left to make: every output stored), then a kill at a random point of
      // the next stretch.
      const started = job;
      await waitFor(async () => {
        const stored = await streamMessages(link, 'WORDCOUNT_OUT');
        return stored > before || stored >= reference.length || started.child.exitCode !== null;
      }, `progress after kill ${kill}`).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; the worker's log:\n${started.stderr().slice(-4000)}`);
      });
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 1500)));
      assert.is(job.child.exitCode, null, job.stderr());
      job.child.kill('SIGKILL');
      await job.exited;
      log += job.stderr();
    }
    await producing;
    job = startJob(server.url, ['--scale-out']);
    const last = job;
    await waitForAllOutputs(
      link,
      reference.length,
      () => last.stderr().length,
      () => last.child.exitCode !== null,
    );
    assert.is(last.child.exitCode, null, last.stderr());
    // The outputs may all be stored before this worker finished loading: SIGTERM it once it has
    // joined (before its handler is installed the signal would kill it outright).
    await waitFor(() => /joined the group/.test(last.stderr()) || last.child.exitCode !== null, 'the worker to join');
    last.child.kill('SIGTERM');
    const exit = await last.exited;
    assert.is(exit.code, 0, last.stderr());
  } finally {
    job?.child.kill('SIGKILL');
    await producing.catch(() => undefined);
  }
  const actual = await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT'));
  assertSamePerKey(actual, reference, (line) => (JSON.parse(line) as { word: string }).word, log);
  // The exchange has one writer, in.i0, so its messages are chained: its data is stored once each
  // and in the unit's order, across every kill (docs/scale-out.md, "The exchange's chain").
  const data: number[] = [];
  const total = await streamMessages(link, 'STATOR_WORDCOUNT_COUNT');
  await using exchange = await openStreamSource(link, {
    stream: 'STATOR_WORDCOUNT_COUNT',
    filterSubject: '>',
    startSeq: 1,
  });
  for (let read = 0; read < total;) {
    for (const record of (await exchange.nextBatch()) ?? []) {
      read++;
      const n = /^wordcount:in\.i0:(\d+)$/.exec(record.headers?.get('Nats-Msg-Id') ?? '')?.[1];
      if (n !== undefined) data.push(Number(n));
    }
  }
  assert.is(data.length, reference.length, 'one exchange message per word');
  const misplaced = data.findIndex((n, i) => n !== i);
  assert.is(
    misplaced,
    -1,
    `exchange data out of order or repeated at ${misplaced}: ${data.slice(misplaced - 2, misplaced + 3).join(' ')}`,
  );
});

test.run();
