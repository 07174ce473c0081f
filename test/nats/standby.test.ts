// Two processes for one job (a duplicate deployment, an operator's second terminal, a standby): both
// join the job's group, one runs the job's one unit and the other stands by. When the one running
// it stops (SIGTERM: after a final checkpoint) or dies (SIGKILL), the other takes over from its last
// checkpoint; the output stream holds every output exactly once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats } from '../../runtime/nats/index.ts';
import {
  assertSameOutputs,
  produce,
  readOutputs,
  referenceOutputs,
  killedAfterTests,
  streamMessages,
  text,
  waitFor,
  type JobProcess,
} from './wordcount-support.ts';

const start = killedAfterTests((hook) => test.after(hook));

const TOOK = /took partition main\b/;

/** The process that took the job's unit first, once one did, and the other. */
async function runnerOf(a: JobProcess, b: JobProcess): Promise<{ runner: JobProcess; standby: JobProcess }> {
  await waitFor(
    () => TOOK.test(a.stderr()) || TOOK.test(b.stderr()) || a.child.exitCode !== null || b.child.exitCode !== null,
    'one process to take the job',
  );
  assert.is(a.child.exitCode, null, a.stderr());
  assert.is(b.child.exitCode, null, b.stderr());
  return TOOK.test(a.stderr()) ? { runner: a, standby: b } : { runner: b, standby: a };
}

test('two processes started at once for the same job: one runs it, the other stands by and takes over on SIGTERM', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(6_000, 5);
  const reference = await referenceOutputs(lines);
  await produce(link, lines.slice(0, 3_000));
  const { runner, standby } = await runnerOf(start(server.url), start(server.url));
  // Both are workers of the group; only one runs the unit.
  await waitFor(
    () => /joined the group of job wordcount/.test(standby.stderr()) || standby.child.exitCode !== null,
    'the other process to join',
  );
  assert.not.match(standby.stderr(), TOOK);
  runner.child.kill('SIGTERM');
  assert.is((await runner.exited).code, 0, runner.stderr());
  assert.match(runner.stderr(), /released main/);
  await waitFor(() => TOOK.test(standby.stderr()) || standby.child.exitCode !== null, 'the standby to take over');
  // The standby goes on with the rest of the input from the final checkpoint.
  await produce(link, lines.slice(3_000), lines.length, 0, 3_000);
  await waitFor(
    async () => (await streamMessages(link, 'WORDCOUNT_OUT')) >= reference.length || standby.child.exitCode !== null,
    'every output',
  );
  standby.child.kill('SIGTERM');
  assert.is((await standby.exited).code, 0, standby.stderr());
  assertSameOutputs(
    await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT')),
    reference,
    true,
    'handed over',
  );
});

test('a standby takes over at once when the process running the job on this host is SIGKILLed', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(8_000, 9);
  const reference = await referenceOutputs(lines);
  await produce(link, lines);
  const first = start(server.url);
  await waitFor(() => TOOK.test(first.stderr()) || first.child.exitCode !== null, 'the first process to run the job');
  const second = start(server.url);
  await waitFor(
    () => /joined the group of job wordcount/.test(second.stderr()) || second.child.exitCode !== null,
    'the second process to join',
  );
  assert.not.match(second.stderr(), TOOK);
  // Mid-run: some outputs stored, not all.
  await waitFor(
    async () => (await streamMessages(link, 'WORDCOUNT_OUT')) > 0 || first.child.exitCode !== null,
    'first outputs',
  );
  first.child.kill('SIGKILL');
  await first.exited;
  await waitFor(() => TOOK.test(second.stderr()) || second.child.exitCode !== null, 'the standby to take over');
  // Its process is gone, which this host can tell: no wait for the lease TTL.
  assert.match(second.stderr(), new RegExp(`worker [^ ]+-${first.child.pid} exited`));
  await waitFor(
    async () => (await streamMessages(link, 'WORDCOUNT_OUT')) >= reference.length || second.child.exitCode !== null,
    'every output',
  );
  second.child.kill('SIGTERM');
  assert.is((await second.exited).code, 0, second.stderr());
  assertSameOutputs(
    await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT')),
    reference,
    true,
    'taken over after SIGKILL',
  );
});

test.run();
