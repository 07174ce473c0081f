import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, waitFor } from '../support/index.ts';
import { killAll, runCli } from '../runtime/support/cli.ts';
import { createLogger } from '../../runtime/log.ts';
import { joinWorkerGroup, type GroupStatus, type WorkerGroup } from '../../runtime/group/index.ts';
import { RecordingHost, UnitRegistry } from './recording-host.ts';

test.after(killAll);

const UNITS = ['count.p0', 'count.p1', 'count.p2', 'count.p3', 'count.p4', 'source.i0'];
const logger = createLogger('silent');

test('stator status - shows the workers and each partition owner of a running group, as a table and as JSON', async () => {
  await using server = await startNatsServer();
  const registry = new UnitRegistry();
  const members: { nc: NatsConnection; host: RecordingHost; group: WorkerGroup }[] = [];
  try {
    for (const name of ['worker-a', 'worker-b']) {
      const nc = await connect({ servers: server.url });
      const host = new RecordingHost(name, registry);
      members.push({
        nc,
        host,
        group: await joinWorkerGroup({
          connection: nc,
          job: 'status job',
          workerId: name,
          units: UNITS,
          // Long enough that heartbeats made late by a loaded machine (this process hosts both
          // workers and spawns the CLI) move no partition while the status is read.
          leaseTtlMs: 15_000,
          logger,
          host,
        }),
      });
    }
    await waitFor(
      () => registry.running.size === UNITS.length && members.every((m) => m.host.running.size === 3),
      '3 partitions each',
    );
    // Progress travels with the heartbeats: wait until both published it for what they run.
    const json = async (): Promise<GroupStatus> => {
      const result = await runCli(['status', '--job', 'status job', '--nats', server.url, '--json']);
      assert.is(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as GroupStatus;
    };
    let status = await json();
    await waitFor(async () => {
      status = await json();
      return status.units.every((u) => u.progress?.position === 42);
    }, 'progress of every partition in the status');

    assert.is(status.exists, true, JSON.stringify(status));
    assert.is(status.bucket, 'stator-status_20job-group');
    assert.equal(
      status.workers.map((w) => w.id),
      ['worker-a', 'worker-b'],
      JSON.stringify(status),
    );
    for (const worker of status.workers) {
      assert.is(worker.pid, process.pid);
      assert.is(worker.state, 'active');
      assert.is(worker.stale, false);
    }
    assert.equal(
      status.units.map((u) => u.unit),
      UNITS,
      'every partition, in the job order',
    );
    for (const unit of status.units) {
      assert.is(unit.owner, registry.running.get(unit.unit), `${unit.unit}'s owner`);
      assert.ok(unit.revision !== undefined && unit.revision > 0);
      assert.equal(unit.progress, {
        position: 42,
        lag: 3,
        watermark: 1_700_000_000_000,
        lastCheckpoint: { id: 7, at: '2026-01-01T00:00:00.000Z' },
      });
    }
    const byWorker = Object.fromEntries(status.workers.map((w) => [w.id, [...w.units].sort()]));
    assert.equal(byWorker, {
      'worker-a': [...members[0]!.host.running].sort(),
      'worker-b': [...members[1]!.host.running].sort(),
    });

    const table = await runCli(['status', '--job', 'status job', '--nats', server.url]);
    assert.is(table.code, 0, table.stderr);
    assert.match(table.stdout, /^job status job: 2 workers, 6 of 6 partitions owned/);
    assert.match(table.stdout, /WORKER\s+HOST\s+PID\s+STATE\s+LAST SEEN\s+PARTITIONS/);
    assert.match(table.stdout, new RegExp(`worker-a\\s+\\S+\\s+${process.pid}\\s+active\\s+\\d+\\.\\ds ago\\s+3\\n`));
    for (const unit of UNITS) {
      assert.match(
        table.stdout,
        new RegExp(
          `\\n${unit.replace('.', '\\.')}\\s+${registry.running.get(unit)}\\s+\\d+\\s+42\\s+3\\s+2023-11-14T22:13:20.000Z\\s+7 at 2026-01-01T00:00:00.000Z\\n`,
        ),
      );
    }

    // A worker that left is gone from the status; its partitions show the new owner.
    await members[1]!.group.close();
    await waitFor(
      () => registry.running.size === UNITS.length && members[0]!.host.running.size === UNITS.length,
      'worker-a to run all 6',
    );
    status = await json();
    assert.equal(
      status.workers.map((w) => w.id),
      ['worker-a'],
    );
    assert.ok(status.units.every((u) => u.owner === 'worker-a'));
  } finally {
    for (const member of members) {
      await member.group.close();
      await member.nc.close();
    }
  }
});

test('stator status - a group whose workers all left says no worker runs, not 0 of 0 partitions owned', async () => {
  await using server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  try {
    const host = new RecordingHost('worker-a', new UnitRegistry());
    const group = await joinWorkerGroup({
      connection: nc,
      job: 'left',
      workerId: 'worker-a',
      units: UNITS,
      logger,
      host,
    });
    await waitFor(() => host.running.size === UNITS.length, 'worker-a to run every partition');
    await group.close();
  } finally {
    await nc.close();
  }
  const result = await runCli(['status', '--job', 'left', '--nats', server.url]);
  assert.is(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^job left: no worker is running on .* \(its group bucket KV_stator-left-group holds no heartbeat and no lease: every worker left\)/,
  );
  assert.not.match(result.stdout, /0 of 0/);
  const json = JSON.parse(
    (await runCli(['status', '--job', 'left', '--nats', server.url, '--json'])).stdout,
  ) as GroupStatus;
  assert.equal([json.exists, json.workers, json.units], [true, [], []]);
});

test('stator status - a job that never ran as a group, and bad arguments', async () => {
  await using server = await startNatsServer();
  const none = await runCli(['status', '--job', 'never-ran', '--nats', server.url]);
  assert.is(none.code, 0, none.stderr);
  assert.match(none.stdout, /no group for job never-ran on .*no bucket KV_stator-never_2dran-group/);
  const noneJson = await runCli(['status', '--job', 'never-ran', '--nats', server.url, '--json']);
  assert.equal(JSON.parse(noneJson.stdout), {
    job: 'never-ran',
    bucket: 'stator-never_2dran-group',
    exists: false,
    workers: [],
    units: [],
  });

  const noNats = await runCli(['status', '--job', 'x']);
  assert.is(noNats.code, 2);
  assert.match(noNats.stderr, /needs --nats/);
  const noJob = await runCli(['status', '--nats', server.url]);
  assert.is(noJob.code, 2);
  assert.match(noJob.stderr, /needs --job/);
  const unknown = await runCli(['status', '--job', 'x', '--nats', server.url, '--bogus']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option --bogus/);
  const help = await runCli(['status', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /usage: stator status/);
});

test.run();
