// The worker's side of the group contract (runtime/group/unit-host.ts): a unit abandoned while its
// start is still pending is given up at once. The group is replaced by an assignment that starts a
// unit and abandons it right away, as a worker that fences itself during a start does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../runtime/index.ts';
import type { Job, Logger } from '../../runtime/index.ts';
import type { UnitHost } from '../../runtime/group/index.ts';
import { connectNats, type NatsLink } from '../../runtime/nats/index.ts';
import { openWorkerRuntime } from '../../runtime/nats/open-worker.ts';
import type { WorkerRuntime } from '../../runtime/nats/worker-runtime.ts';
import { UnitAbandonedError } from '../../runtime/nats/errors.ts';
import type { RuntimeEvent } from '../../runtime/job-runtime.ts';
import { nats } from '../../runtime/transport.ts';
import { openJetStreamCheckpointStore } from '../../runtime/checkpoint/index.ts';
import { job } from '../../examples/wordcount.ts';
import { produce, text } from './wordcount-support.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { heldOpenWordcount } from '../support/held-open-wordcount.ts';

/**
 * A worker of the wordcount job on `url` whose group is `join` (it starts and abandons units by hand),
 * running, with its events collected. Stop it with `stop()`.
 */
async function openWorker(
  url: string,
  options: {
    join: (host: UnitHost) => Promise<void>;
    logger: Logger;
    checkpointIntervalMs: number;
    job?: Job;
    /** UnitAssignment.confirmed. @default always */
    confirmed?: () => boolean;
  },
): Promise<{ runtime: WorkerRuntime; events: RuntimeEvent[]; stop: () => Promise<void> }> {
  const prepared = await openWorkerRuntime({
    split: true,
    job: options.job ?? job,
    transport: nats({ servers: url }),
    logger: options.logger,
    checkpointIntervalMs: options.checkpointIntervalMs,
    maxRetries: undefined,
    http: undefined,
    assignment: () => ({
      join: options.join,
      leave: async () => {},
      unitEnded: () => {},
      ...(options.confirmed === undefined ? {} : { confirmed: options.confirmed }),
    }),
  });
  const runtime = prepared.runtime as WorkerRuntime;
  const events: RuntimeEvent[] = [];
  runtime.events.subscribe((event) => events.push(event));
  const run = runtime.run().catch((error: unknown) => error);
  return {
    runtime,
    events,
    stop: async () => {
      await runtime.stop();
      await run;
      await prepared.close();
    },
  };
}

/**
 * Asserts that the unit in.i0 gave up its start (`outcome`, what host.start settled with) because it
 * was abandoned for `reason`, saying so in its log and in the start's error (with the abandon as
 * cause, not "did not start: failed"), without running, restoring, or taking its checkpoint lease:
 * a restore takes over the lease (a manifest commit) from the unit's next owner.
 */
async function assertGaveUpStart(
  link: NatsLink,
  worker: { runtime: WorkerRuntime; events: RuntimeEvent[] },
  outcome: unknown,
  log: string,
  reason: string,
): Promise<void> {
  assert.instance(outcome, Error, `the unit started:\n${log}`);
  assert.is((outcome as Error).message, `unit in.i0 did not start: unit in.i0 abandoned: ${reason}`);
  assert.instance((outcome as Error).cause, UnitAbandonedError);
  assert.ok(log.includes(`[in.i0] unit in.i0 abandoned: ${reason}; it runs elsewhere now`), log);
  assert.equal(worker.runtime.ownedUnits, [], `units running:\n${log}`);
  assert.equal(
    worker.events.filter((event) => event.type === 'restored'),
    [],
    `the unit restored its checkpoint:\n${log}`,
  );
  const store = await openJetStreamCheckpointStore({ job: job.name, task: 'in.i0', connection: link.nc });
  try {
    assert.is(await store.readManifest(), undefined, `the unit took the checkpoint lease:\n${log}`);
  } finally {
    await store.close();
  }
}

test('worker runtime - a unit abandoned while it starts does not restore or run, and its start fails with why', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await produce(link, text(50));
  const logs: string[] = [];
  let started: Promise<unknown> | undefined;
  const worker = await openWorker(server.url, {
    logger: createLogger('info', { write: (line: string) => logs.push(line) > 0 } as unknown as NodeJS.WritableStream),
    checkpointIntervalMs: 200,
    join: async (host) => {
      // The lease is lost while the unit opens its checkpoints (the group fenced itself).
      started = host.start('in.i0', { unit: 'in.i0', worker: 'w1', revision: 1 }).then(
        () => 'started',
        (error: unknown) => error,
      );
      host.abandon('in.i0', 'its lease was lost (test)');
    },
  });
  try {
    // The start settles once the unit runs (restored and reading) or its run ended without running.
    await assertGaveUpStart(link, worker, await started, logs.join(''), 'its lease was lost (test)');
  } finally {
    await worker.stop();
  }
});

test("worker runtime - a unit whose worker's hold lapsed while it opened does not take the checkpoint lease", async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await produce(link, text(50));
  const logs: string[] = [];
  let started: Promise<unknown> | undefined;
  let confirmed = true;
  const worker = await openWorker(server.url, {
    logger: createLogger('info', { write: (line: string) => logs.push(line) > 0 } as unknown as NodeJS.WritableStream),
    checkpointIntervalMs: 200,
    confirmed: () => confirmed,
    join: async (host) => {
      started = host.start('in.i0', { unit: 'in.i0', worker: 'w1', revision: 1 }).then(
        () => 'started',
        (error: unknown) => error,
      );
      // The worker stalls while the unit opens (a stopped process): no heartbeat acknowledged in
      // time, and the group may have given the unit to another worker, before this one's timers
      // run and fence it.
      confirmed = false;
    },
  });
  try {
    await assertGaveUpStart(
      link,
      worker,
      await started,
      logs.join(''),
      "this worker's hold on the group is not confirmed (no heartbeat acknowledged lately), so it may run elsewhere",
    );
  } finally {
    await worker.stop();
  }
});

test('worker runtime - checkpoint() writes one for each unit that runs, leaving out a unit that is still restoring', async () => {
  /** Each start's outcome: 'started', or what it rejected with. */
  const starts = new Map<string, Promise<unknown>>();
  const start = (host: UnitHost, unit: string): void =>
    void starts.set(
      unit,
      host.start(unit, { unit, worker: 'w1', revision: 1 }).then(
        () => 'started',
        (error: unknown) => error,
      ),
    );
  const held = heldOpenWordcount();
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await produce(link, text(50));
  const worker = await openWorker(server.url, {
    logger: createLogger('silent'),
    // Long: only checkpoint() writes one after the start.
    checkpointIntervalMs: 3_600_000,
    job: held.job,
    join: async (host) => {
      start(host, 'in.i0');
      start(host, 'count.p0');
    },
  });
  const { runtime, events } = worker;
  const onDemand = (): number =>
    events.filter((event) => event.type === 'checkpoint' && event.reason === 'on-demand').length;
  try {
    // Settles once the unit runs (restored and reading).
    assert.is(await starts.get('in.i0'), 'started');
    // count.p0 is held in its restore: its task's open() waits.
    await held.opening;
    assert.equal([...runtime.ownedUnits].sort(), ['count.p0', 'in.i0']);
    const checkpointed = (): Promise<unknown> =>
      runtime.checkpoint().then(
        () => 'resolved',
        (error: unknown) => error,
      );
    assert.is(await checkpointed(), 'resolved');
    assert.is(onDemand(), 1, JSON.stringify(events.map((event) => event.type)));
    held.release();
    assert.is(await starts.get('count.p0'), 'started');
    assert.is(await checkpointed(), 'resolved');
    assert.is(onDemand(), 3, JSON.stringify(events.map((event) => event.type)));
  } finally {
    held.release();
    await worker.stop();
  }
});

test.run();
