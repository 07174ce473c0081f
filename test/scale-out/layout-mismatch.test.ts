// Every worker of a job must run its layout: a worker started with another stage parallelism,
// another number of input partitions, or without --scale-out beside the job's running workers
// exits with a clear message (exit 2) before it joins the group, naming both values, and the
// running worker goes on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats } from '../../runtime/nats/index.ts';
import { Kvm } from '@nats-io/kv';
import { checkpointed, produce, startJob, streamMessages, text, waitFor } from '../nats/wordcount-support.ts';
import { runCli } from '../runtime/support/cli.ts';
import { killAll, logsOf, startWorker, stopWorkers } from './support.ts';
import type { JobProcess } from '../nats/wordcount-support.ts';

const workers: JobProcess[] = [];
test.after(() => killAll(workers));

test('a worker with another layout than the running workers is refused before it joins', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  // Both subjects, so that the worker with input partitions is refused for its layout, not its stream.
  await (
    await link.jetstreamManager()
  ).streams.add({
    name: 'WORDCOUNT_IN',
    subjects: ['wordcount.in', 'wordcount.in.>'],
  });
  await produce(link, text(2_000, 31));
  const running = startWorker(server.url, 1);
  workers.push(running);
  await waitFor(async () => (await streamMessages(link, 'WORDCOUNT_OUT')) > 0, 'outputs');

  const cases: { args: string[]; message: RegExp }[] = [
    {
      args: ['--parallelism', 'count=6'],
      message:
        /job wordcount runs with --parallelism count=4 \(its layout record in the bucket stator-wordcount-group\) and this worker was started with --parallelism count=6: worker\(s\) \S+ of the job run with the recorded layout; start this one with --parallelism count=4, or stop every worker \(SIGTERM\) to rescale the job/,
    },
    {
      args: ['--input-partitions', '2'],
      message:
        /job wordcount runs with --input-partitions none .* and this worker was started with --input-partitions 2: every worker must read the input in the same partitions; start this one with no --input-partitions/,
    },
  ];
  for (const { args, message } of cases) {
    const refused = startWorker(server.url, 1, args);
    workers.push(refused);
    const exit = await refused.exited;
    assert.is(exit.code, 2, refused.stderr());
    assert.match(refused.stderr(), message, refused.stderr());
    assert.not.match(refused.stderr(), /took partition|joined the group/, 'it never joined the group');
  }
  // Without --scale-out a worker would run the whole job as one unit beside the running units.
  const whole = startJob(server.url);
  workers.push(whole);
  const exit = await whole.exited;
  assert.is(exit.code, 2, whole.stderr());
  assert.match(
    whole.stderr(),
    /job wordcount runs with --scale-out \(its layout record in the bucket stator-wordcount-group\) and this worker was started with one unit \(no --scale-out\): start this worker with --scale-out/,
  );
  assert.not.match(whole.stderr(), /took partition|joined the group/, 'it never joined the group');
  assert.is(running.child.exitCode, null, logsOf(workers));
  assert.not.match(running.stderr(), /released|rescal/, 'the running worker kept its units');
  await stopWorkers([running], workers);
});

test('a --scale-out worker of a job that ran as one unit is refused, saying how to start it over scaled out, which works', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await produce(link, text(200, 5));
  const whole = startJob(server.url);
  workers.push(whole);
  await checkpointed(whole);
  await stopWorkers([whole], workers);

  const refused = startWorker(server.url, 1);
  workers.push(refused);
  assert.is((await refused.exited).code, 2, refused.stderr());
  assert.match(
    refused.stderr(),
    /job wordcount runs with one unit \(no --scale-out\) .* and this worker was started with --scale-out: start this worker without --scale-out .*; to start the job over scaled out, without its state: stop its workers, clear its checkpoints \(stator checkpoints clear --job wordcount --nats <url>\) and delete its layout record \(nats kv del stator-wordcount-group layout\)/,
  );
  // What the message says to do.
  const cleared = await runCli(['checkpoints', 'clear', '--job', 'wordcount', '--nats', server.url]);
  assert.is(cleared.code, 0, cleared.stderr);
  await (await new Kvm(link.nc).open('stator-wordcount-group')).delete('layout');
  const scaledOut = startWorker(server.url, 1);
  workers.push(scaledOut);
  await waitFor(() => /took partition count\.p3/.test(scaledOut.stderr()), 'the scaled-out worker runs its units');
  await stopWorkers([scaledOut], workers);
});

test.run();
