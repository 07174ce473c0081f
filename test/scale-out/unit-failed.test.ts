// A unit that fails every time is not retried forever: every worker backs off from it for a time that
// doubles with its failures in a row (recorded in the group's bucket), and after the limit it is marked
// failed: the log says why, `stator status` shows it, the runtime reports it for the metrics, and the
// other units run on. Once the operator fixed the cause and deleted its record, it starts and the job
// catches up: every word counted once, as in an embedded run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kvm } from '@nats-io/kv';
import { connectNats } from '../../runtime/nats/index.ts';
import { readGroupStatus, groupBucketName } from '../../runtime/group/index.ts';
import type { TaskContext } from '../../src/index.ts';
import type { RuntimeEvent } from '../../runtime/index.ts';
import { WordCount, type WordCountOutput } from '../../examples/wordcount.ts';
import { produce, readOutputs, referenceOutputs, streamMessages, text } from '../nats/wordcount-support.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { waitFor, waitForProgress } from '../support/wait-for.ts';
import { killAll, runCli } from '../runtime/support/cli.ts';
import { assertSamePerKey } from './per-key.ts';
import { startWorker } from './in-process-worker.ts';
import { wordcountCountedBy } from './failing-wordcount.ts';

test.after(killAll);

/** Set while partition 1's open() fails: the cause the operator fixes. */
let broken = true;
let attempts = 0;

class BrokenPartition extends WordCount {
  override open(ctx: TaskContext): void | Promise<void> {
    if (broken && ctx.partition === 1) {
      attempts++;
      throw new Error('open() of partition 1 fails (test)');
    }
    return super.open(ctx);
  }
}

const brokenJob = wordcountCountedBy(BrokenPartition);

test('a unit failing every time is marked failed after 3 failures; the others run on; cleared, it catches up', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const input = text(1000);
  const reference = await referenceOutputs(input);
  await produce(link, input);
  const { runtime, logs, state, finish } = await startWorker(server.url, brokenJob, 1000, 3);
  const log = (): string => logs.join('');
  const events: RuntimeEvent[] = [];
  const subscription = runtime.events.subscribe((event) => events.push(event));
  try {
    await waitFor(() => /marked it failed/.test(log()), 'count.p1 marked failed', { limitMs: 60_000 }).catch(
      (error: unknown) => {
        throw new Error(`${String(error)}\n${log()}`);
      },
    );
    // Each attempt that ran to its end counted as one failure. On a loaded machine the worker may
    // fence itself (its heartbeats late for the 1 s lease) while an attempt runs: that attempt is
    // abandoned with the unit, not counted against it.
    const counted = attempts;
    const abandonedWithP1 = log()
      .split('\n')
      .filter((line) => /fenced itself .*abandoned .*count\.p1/.test(line)).length;
    assert.ok(counted >= 3 && counted <= 3 + abandonedWithP1, `${counted} attempts\n${log()}`);
    // Growing back-off: 1000 ms after the first failure, 2000 ms after the second.
    assert.match(
      log(),
      /partition count\.p1 could not start: .*open\(\) of partition 1 fails \(test\); released it, retrying in 1000 ms \(failure 1 of 3\)/,
    );
    assert.match(log(), /retrying in 2000 ms \(failure 2 of 3\)/);
    assert.match(
      log(),
      /partition count\.p1 could not start: .*; released it\. It failed 3 times in a row: marked it failed, no worker starts it again until its record is cleared \(nats kv del stator-wordcount-group failure\.count\.p1;/,
    );
    // Reported once the failure record is stored, which is after the log line.
    await waitFor(
      () => events.some((e) => e.type === 'unit-failures' && e.unit === 'count.p1' && e.failed && e.failures === 3),
      'the runtime to report the failed unit',
    );
    // The healthy units run on: partition 0's words are counted.
    assert.is(state.ended, undefined, `the worker ended: ${String(state.ended)}`);
    assert.equal([...runtime.ownedUnits].sort(), ['count.p0', 'in.i0'], log());
    await waitFor(async () => (await streamMessages(link, 'WORDCOUNT_OUT')) > 0, 'outputs of partition 0');
    const status = await readGroupStatus(link.nc, 'wordcount');
    const unit = status.units.find((u) => u.unit === 'count.p1')!;
    assert.is(unit.owner, undefined);
    assert.is(unit.failure?.failed, true);
    assert.is(unit.failure?.failures, 3);
    assert.match(unit.failure?.error ?? '', /open\(\) of partition 1 fails \(test\)/);
    const shown = await runCli(['status', '--job', 'wordcount', '--nats', server.url]);
    assert.is(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /FAILING\s+STATE\s+FAILURES\s+LAST FAILURE\s+ERROR/);
    assert.match(
      shown.stdout,
      /count\.p1\s+FAILED \(not started until cleared\)\s+3\s+\S+ on \S+\s+.*open\(\) of partition 1 fails/,
    );
    // Waiting longer starts nothing: it stays failed.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.is(attempts, counted, log());

    // The operator fixes the cause and clears the record: it starts, and the job catches up.
    broken = false;
    const kv = await new Kvm(link.js).open(groupBucketName('wordcount'));
    await kv.delete('failure.count.p1');
    await waitForProgress(
      async () => state.ended !== undefined || (await streamMessages(link, 'WORDCOUNT_OUT')) >= reference.length,
      async () => (await streamMessages(link, 'WORDCOUNT_OUT')) + logs.length,
      'every count',
    );
    assert.is(state.ended, undefined, `the worker ended: ${String(state.ended)}\n${log()}`);
    assert.equal([...runtime.ownedUnits].sort(), ['count.p0', 'count.p1', 'in.i0'], log());
    assert.ok(
      events.some((e) => e.type === 'unit-failures' && e.unit === 'count.p1' && e.failures === 0 && !e.failed),
      'the runtime reported the record cleared',
    );
  } finally {
    subscription.unsubscribe();
    await finish();
  }
  const actual = await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT'));
  assertSamePerKey(actual, reference, (line) => (JSON.parse(line) as WordCountOutput).word, log());
});

test.run();
