import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { jetstream } from '@nats-io/jetstream';
import { startNatsServer, waitFor, type NatsServerHandle } from '../support/index.ts';
import { createLogger, type Logger } from '../../runtime/log.ts';
import {
  groupBucketName,
  joinWorkerGroup,
  readGroupStatus,
  type GroupEvent,
  type WorkerGroup,
} from '../../runtime/group/index.ts';
import { RecordingHost, UnitRegistry, type HostCall } from './recording-host.ts';
import { startConfiguredNatsServer } from '../nats/support.ts';
import { whileDown } from '../support/server-outage.ts';
import { collectingLogger } from '../support/collecting-logger.ts';
import { createGroupBucket } from '../../runtime/group/group-bucket.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const UNITS = Array.from({ length: 8 }, (_, i) => `count.p${i}`);
// Long enough that the loaded test machine never misses two heartbeats in a row by accident.
const TTL_MS = 4_000;
const logger = createLogger(process.env.STATOR_TEST_TRACE === '1' ? 'debug' : 'silent');

interface Member {
  readonly name: string;
  readonly nc: NatsConnection;
  readonly host: RecordingHost;
  readonly group: WorkerGroup;
  readonly events: GroupEvent[];
}

async function join(
  server: NatsServerHandle,
  job: string,
  name: string,
  registry: UnitRegistry,
  units = UNITS,
): Promise<Member> {
  const nc = await connect({ servers: server.url });
  const host = new RecordingHost(name, registry);
  const group = await joinWorkerGroup({ connection: nc, job, workerId: name, units, leaseTtlMs: TTL_MS, logger, host });
  const events: GroupEvent[] = [];
  group.events.subscribe((event) => events.push(event));
  return { name, nc, host, group, events };
}

async function leave(member: Member): Promise<void> {
  await member.group.close();
  if (!member.nc.isClosed()) await member.nc.close();
}

/** unit → member name, from what each host runs (throws on a unit run twice). */
function ownership(members: readonly Member[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const member of members) {
    for (const unit of member.host.running) {
      assert.not.ok(owners.has(unit), `${unit} runs on ${owners.get(unit)} and ${member.name}`);
      owners.set(unit, member.name);
    }
  }
  return owners;
}

/** Every unit runs somewhere, among `members` only, floor/ceil each. */
function balanced(members: readonly Member[], units = UNITS): boolean {
  const owners = ownership(members);
  if (owners.size !== units.length) return false;
  const floor = Math.floor(units.length / members.length);
  return (
    members.every((m) => m.host.running.size === floor || m.host.running.size === floor + 1) &&
    members.every((m) => m.group.owned.size === m.host.running.size)
  );
}

const moved = (before: Map<string, string>, after: Map<string, string>): string[] =>
  [...after].filter(([unit, owner]) => before.get(unit) !== owner).map(([unit]) => unit);

test('group - workers joining one by one share the units, moving only the ones they must; close hands over', async () => {
  await using server = await startNatsServer();
  const registry = new UnitRegistry();
  const a = await join(server, 'join-test', 'worker-a', registry);
  const members = [a];
  try {
    await waitFor(() => balanced([a]), 'worker-a to run all 8 units');
    const one = ownership([a]);

    const b = await join(server, 'join-test', 'worker-b', registry);
    members.push(b);
    await waitFor(() => balanced([a, b]), '4 units each');
    const two = ownership([a, b]);
    assert.is(moved(one, two).length, 4, 'a second worker takes 4 units');

    const c = await join(server, 'join-test', 'worker-c', registry);
    members.push(c);
    await waitFor(() => balanced([a, b, c]), '3/3/2');
    const three = ownership([a, b, c]);
    assert.equal(moved(two, three).sort(), [...c.host.running].sort(), 'only the units worker-c runs moved');
    assert.is(moved(two, three).length, c.host.running.size);
    assert.ok(c.host.running.size === 2 || c.host.running.size === 3);
    // Handovers were graceful: each moved unit was stopped by its previous owner before it started again.
    assert.equal(registry.violations, []);
    const stops = [...a.host.calls, ...b.host.calls].filter((call) => call.call === 'stop').length;
    assert.is(stops, 4 + moved(two, three).length);
    assert.ok(a.events.some((e) => e.type === 'released' && e.reason === 'rebalance'));

    // The status a script reads agrees with what the hosts run.
    const status = await readGroupStatus(a.nc, 'join-test');
    assert.equal(
      status.workers.map((w) => w.id),
      ['worker-a', 'worker-b', 'worker-c'],
    );
    assert.equal(new Map(status.units.map((u) => [u.unit, u.owner])), three);

    // Graceful leave: worker-c's units go to the others without waiting for its lease to expire.
    const cUnits = [...c.host.running];
    await leave(c);
    members.pop();
    assert.equal(
      c.host.calls.filter((call) => call.call === 'abandon'),
      [],
      'a leave stops, never abandons',
    );
    assert.equal(
      new Set(c.host.calls.filter((call) => call.call === 'stop').map((call) => call.unit)),
      new Set(cUnits),
    );
    assert.is(c.group.state, 'closed');
    await c.group.close(); // idempotent
    await waitFor(() => balanced([a, b]), 'the two left to run all 8 again');
    assert.equal(registry.violations, []);
    const after = await readGroupStatus(a.nc, 'join-test');
    assert.equal(
      after.workers.map((w) => w.id),
      ['worker-a', 'worker-b'],
      'the leaver deleted its heartbeat',
    );
    assert.not.ok(
      after.units.some((u) => u.owner === 'worker-c'),
      'and its leases',
    );
  } finally {
    for (const member of members) await leave(member);
  }
  assert.equal(registry.violations, []);
});

test('group - a worker whose connection dies loses its units to the others once its lease expires', async () => {
  await using server = await startNatsServer();
  const registry = new UnitRegistry();
  const a = await join(server, 'crash-test', 'worker-a', registry);
  const b = await join(server, 'crash-test', 'worker-b', registry);
  const c = await join(server, 'crash-test', 'worker-c', registry);
  try {
    await waitFor(() => balanced([a, b, c]), '3/3/2');
    const lost = [...b.host.running];
    const leaseRevisions = new Map(
      b.host.calls
        .filter((call): call is Extract<HostCall, { call: 'start' }> => call.call === 'start')
        .map((call) => [call.unit, call.revision]),
    );
    const before = { a: a.events.length, c: c.events.length };
    // A crash as the others see it: the connection goes, no graceful leave.
    await b.nc.close();
    await waitFor(() => b.host.running.size === 0, 'worker-b to give its units up');
    assert.ok(b.host.calls.filter((call) => call.call === 'abandon').length === lost.length);
    await waitFor(() => balanced([a, c]), 'worker-a and worker-c to run all 8');
    const took = [...a.events.slice(before.a), ...c.events.slice(before.c)].filter(
      (e): e is Extract<GroupEvent, { type: 'took' }> => e.type === 'took' && lost.includes(e.unit),
    );
    assert.is(took.length, lost.length);
    for (const event of took) {
      assert.is(event.from, 'worker-b');
      assert.is(event.reason, 'lease expired');
      assert.ok(
        event.lease.revision > leaseRevisions.get(event.unit)!,
        'the new lease has a higher revision: the fencing token grew',
      );
    }
    assert.equal(registry.violations, []);
  } finally {
    for (const member of [a, b, c]) await leave(member);
  }
});

test('group - a worker abandons a unit at once when its lease names another worker, and takes back a lease whose holder has no heartbeat', async () => {
  await using server = await startNatsServer();
  const registry = new UnitRegistry();
  const a = await join(server, 'intrude-test', 'worker-a', registry, UNITS.slice(0, 2));
  try {
    await waitFor(() => a.host.running.size === 2, 'worker-a to run both units');
    const kv = await new Kvm(jetstream(a.nc)).open(groupBucketName('intrude-test'));
    const current = await kv.get('lease.count.p1');
    // Another writer wins the lease (as a worker that judged worker-a dead would).
    const record = { unit: 'count.p1', worker: 'intruder', instance: 'x', takenAt: new Date().toISOString() };
    const intruded = await kv.update('lease.count.p1', JSON.stringify(record), current!.revision);
    await waitFor(
      () => a.host.calls.some((call) => call.call === 'abandon' && call.unit === 'count.p1'),
      'worker-a to abandon count.p1',
    );
    const abandon = a.host.calls.find((call) => call.call === 'abandon')!;
    assert.match(abandon.call === 'abandon' ? abandon.reason : '', /worker intruder holds its lease now/);
    assert.ok(a.events.some((e) => e.type === 'lost' && e.unit === 'count.p1'));
    // "intruder" never heartbeats: one TTL later worker-a takes the unit back, under a higher revision.
    await waitFor(() => a.host.running.has('count.p1'), 'worker-a to take count.p1 back');
    const again = a.host.calls
      .filter((call): call is Extract<HostCall, { call: 'start' }> => call.call === 'start' && call.unit === 'count.p1')
      .at(-1)!;
    assert.ok(again.revision > intruded);
    assert.ok(
      a.events.some(
        (e) => e.type === 'took' && e.unit === 'count.p1' && e.from === 'intruder' && e.reason === 'lease expired',
      ),
    );
    assert.ok(a.host.running.has('count.p0'), 'the other unit was never disturbed');
    assert.is(a.host.calls.filter((call) => call.unit === 'count.p0').length, 1);
  } finally {
    await leave(a);
  }
});

test('group - a lease taken by the next owner while this worker releases a unit it stopped is a handover, not a lost partition', async () => {
  await using server = await startNatsServer();
  const lines = collectingLogger();
  const nc = await connect({ servers: server.url });
  const job = 'handover-test';
  // The next owner writes the lease while this worker ends its stop, and this worker's watch shows it
  // only once the stop has ended (as on a loaded host, where the watch lags): blocking the event loop
  // while another process writes makes that order certain.
  const host = new (class extends RecordingHost {
    override async stop(unit: string): Promise<void> {
      await super.stop(unit);
      takeLease(server.url, groupBucketName(job), `lease.${unit}`);
    }
  })('worker-a', new UnitRegistry());
  const group = await joinWorkerGroup({
    connection: nc,
    job,
    workerId: 'worker-a',
    units: UNITS.slice(0, 1),
    // Long enough that the blocked event loop does not fence the worker.
    leaseTtlMs: 60_000,
    logger: lines,
    host,
  });
  const events: GroupEvent[] = [];
  group.events.subscribe((event) => events.push(event));
  try {
    await waitFor(() => host.running.size === 1, 'worker-a to run its unit');
    await group.close();
    const kv = await new Kvm(jetstream(nc)).open(groupBucketName(job));
    assert.match(String((await kv.get(`lease.${UNITS[0]}`))?.string()), /"worker":"worker-b"/);
    assert.equal(
      lines.lines.filter((line) => line.includes('lost partition')),
      [],
    );
    assert.not.ok(events.some((e) => e.type === 'lost'));
    assert.equal(
      host.calls.map((call) => call.call),
      ['start', 'stop'],
    );
  } finally {
    await group.close();
    await nc.close();
  }
});

/** One worker alone in the group of `job` on 3 units with a 600 ms lease, its host failing starts `failStart` says. */
async function joinAlone(
  server: NatsServerHandle,
  job: string,
  failStart: (unit: string) => boolean,
): Promise<{ host: RecordingHost; group: WorkerGroup; events: GroupEvent[]; close: () => Promise<void> }> {
  const nc = await connect({ servers: server.url });
  const host = new RecordingHost('worker-a', new UnitRegistry(), failStart);
  const group = await joinWorkerGroup({
    connection: nc,
    job,
    workerId: 'worker-a',
    units: UNITS.slice(0, 3),
    leaseTtlMs: 600,
    logger,
    host,
  });
  const events: GroupEvent[] = [];
  group.events.subscribe((event) => events.push(event));
  return {
    host,
    group,
    events,
    close: async () => {
      await group.close();
      await group.close();
      await nc.close();
    },
  };
}

test('group - a unit whose start fails is released and retried', async () => {
  await using server = await startNatsServer();
  let refusals = 2;
  const { host, events, close } = await joinAlone(
    server,
    'retry-test',
    (unit) => unit === 'count.p1' && refusals-- > 0,
  );
  try {
    await waitFor(() => host.running.size === 3, 'all three units, count.p1 after two failed starts');
    assert.is(events.filter((e) => e.type === 'start-failed').length, 2);
  } finally {
    await close();
  }
});

test("group - a start that fails once the worker stalled past its lease fences the worker, and does not count as the unit's failure", async () => {
  await using server = await startNatsServer();
  let stalls = 1;
  const { host, events, close } = await joinAlone(server, 'stalled-start-test', (unit) => {
    if (unit !== 'count.p1' || stalls-- <= 0) return false;
    // The process stalls while the unit starts (no timer runs, no heartbeat is acknowledged), and
    // its start fails on waking: the unit may run elsewhere by now, so whatever refused it is not
    // the unit's fault.
    const until = performance.now() + 1_000;
    while (performance.now() < until);
    return true;
  });
  try {
    await waitFor(() => events.some((e) => e.type === 'fenced'), 'the stalled worker fences itself');
    await waitFor(() => host.running.size === 3, 'all three units once it rejoined');
    assert.equal(
      events.filter((e) => e.type === 'unit-failed' || e.type === 'start-failed'),
      [],
      'a start that failed after the stall counted as a failure of the unit',
    );
  } finally {
    await close();
  }
});

test('group - a unit that stops on its own (fenced, failed) is released and started again', async () => {
  await using server = await startNatsServer();
  const registry = new UnitRegistry();
  const nc = await connect({ servers: server.url });
  const host = new RecordingHost('worker-a', registry);
  const group = await joinWorkerGroup({
    connection: nc,
    job: 'ended-test',
    workerId: 'worker-a',
    units: UNITS.slice(0, 2),
    leaseTtlMs: 600,
    logger,
    host,
  });
  const events: GroupEvent[] = [];
  group.events.subscribe((event) => events.push(event));
  try {
    await waitFor(() => host.running.size === 2, 'both units');
    const startsBefore = host.calls.filter((c) => c.call === 'start' && c.unit === 'count.p1').length;
    // What the worker does when a unit's runtime ends without the group asking: the host no longer
    // runs it, and the group is told.
    host.abandon('count.p1', 'test: its runtime ended');
    group.unitEnded('count.p1', 'fenced: another worker committed a checkpoint of this unit');
    assert.not.ok(group.owned.has('count.p1'), 'no longer counted as owned');
    await waitFor(
      () => host.calls.filter((c) => c.call === 'start' && c.unit === 'count.p1').length === startsBefore + 1,
      'count.p1 started again after the back-off',
    );
    assert.ok(host.running.has('count.p1'));
    assert.ok(group.owned.has('count.p1'));
    assert.is(events.filter((e) => e.type === 'ended').length, 1);
    // A unit the group does not hold (already moved, never owned) is left alone.
    group.unitEnded('count.p7', 'not ours');
    assert.is(events.filter((e) => e.type === 'ended').length, 1);
    assert.equal(registry.violations, []);
  } finally {
    await group.close();
    await nc.close();
  }
});

test('group - bad options are refused with a clear error', async () => {
  await using server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  const host = new RecordingHost('x', new UnitRegistry());
  try {
    for (const [options, message] of [
      [{ units: [] }, /at least one/],
      [{ units: ['a', 'a'] }, /distinct/],
      [{ units: ['a'], leaseTtlMs: 10 }, /leaseTtlMs/],
      [{ units: ['a'], replicas: 0 }, /replicas/],
    ] as const) {
      try {
        await joinWorkerGroup({ connection: nc, job: 'bad', workerId: 'w', logger, host, ...options });
        assert.unreachable('must throw');
      } catch (error) {
        assert.is((error as { code?: string }).code, 'CONFIG_ERROR');
        assert.match((error as Error).message, message);
      }
    }
  } finally {
    await nc.close();
  }
});

test('group - heartbeats failing while the server is down are logged at warn, with what the worker does, and their end at info', async () => {
  await using server = await startNatsServer();
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const lines: string[] = [];
  const recording = {
    ...logger,
    warn: (m: string) => lines.push(`warn ${m}`),
    info: (m: string) => lines.push(`info ${m}`),
  };
  const host = new RecordingHost('w', new UnitRegistry());
  const group = await joinWorkerGroup({
    connection: nc,
    job: 'outage',
    workerId: 'w',
    units: UNITS,
    leaseTtlMs: 600,
    logger: recording,
    host,
  });
  const events: GroupEvent[] = [];
  group.events.subscribe((event) => events.push(event));
  try {
    await waitFor(() => host.running.size === UNITS.length, 'it runs every unit');
    await whileDown(server, () => waitFor(() => events.some((e) => e.type === 'fenced'), 'it fences itself'));
    await waitFor(() => events.some((e) => e.type === 'rejoined'), 'it rejoins once the server is back');
    await waitFor(() => host.running.size === UNITS.length, 'it runs every unit again');
    const failing = lines.filter((line) => /^warn the heartbeat of worker w failed \(\d+ times in a row\)/.test(line));
    assert.ok(failing.length > 0, lines.join('\n'));
    assert.match(
      failing.at(-1)!,
      /it stays fenced and sends the next one on its timer; it rejoins once one is acknowledged/,
      lines.join('\n'),
    );
    assert.ok(
      lines.some((line) => /^info the heartbeat of worker w succeeded again after \d+ failures in a row/.test(line)),
      lines.join('\n'),
    );
  } finally {
    await group.close();
    await nc.close();
  }
});

test("group - a lease the watch showed at a revision the stream leader does not have is claimed again with the leader's", async () => {
  await using server = await startNatsServer();
  const registry = new UnitRegistry();
  const member = await join(server, 'diverged', 'w', registry);
  const nc = await connect({ servers: server.url });
  try {
    await waitFor(() => member.host.running.size === UNITS.length, 'it runs every unit');
    // What the watch showed is no longer on the leader: here the lease's message is removed from the
    // stream; after a node was killed, replicas that disagree on its sequence look the same.
    const jsm = await jetstream(nc).jetstreamManager();
    const stream = `KV_${groupBucketName('diverged')}`;
    const lease = await jsm.streams.getMessage(stream, {
      last_by_subj: `$KV.${groupBucketName('diverged')}.lease.count.p7`,
    });
    assert.ok(lease !== null);
    await jsm.streams.deleteMessage(stream, lease.seq);
    const starts = (): number => member.host.calls.filter((c) => c.call === 'start' && c.unit === 'count.p7').length;
    // The unit stops on its own: the group deletes its lease by the revision it holds (refused: the
    // leader has none), then claims the unit again.
    member.group.unitEnded('count.p7', 'test: it stopped');
    await waitFor(() => starts() >= 2, 'count.p7 runs again');
    assert.equal(registry.violations, []);
  } finally {
    await nc.close();
    await leave(member);
  }
});

/** A host whose graceful stops wait until `stopsEnd()`. */
class SlowStops extends RecordingHost {
  private ended!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.ended = resolve));
  stopsEnd(): void {
    this.ended();
  }
  override async stop(unit: string): Promise<void> {
    await this.gate;
    await super.stop(unit);
  }
}

/** Joins `job` as `name` with a lease TTL of 1 s (a loaded machine may stall for 2/3 of less), logging to `log`. */
async function joinQuickly(
  server: NatsServerHandle,
  job: string,
  name: string,
  host: RecordingHost,
  log: Logger,
): Promise<{ nc: NatsConnection; group: WorkerGroup }> {
  const nc = await connect({ servers: server.url });
  const group = await joinWorkerGroup({
    connection: nc,
    job,
    workerId: name,
    units: UNITS,
    leaseTtlMs: 1_000,
    logger: log,
    host,
  });
  return { nc, group };
}

/**
 * Worker `a`, whose graceful stops wait, runs every unit; then `b` joins: half of them are to move
 * from `a` to `b`. Disposing lets the stops end and closes both.
 */
async function startHandover(
  server: NatsServerHandle,
  job: string,
  registry: UnitRegistry,
  log: (name: string) => Logger,
) {
  const a = new SlowStops('a', registry);
  const b = new RecordingHost('b', registry);
  const members = [await joinQuickly(server, job, 'a', a, log('a'))];
  const dispose = async (): Promise<void> => {
    a.stopsEnd();
    for (const member of members) {
      await member.group.close();
      await member.nc.close();
    }
  };
  try {
    await waitFor(() => a.running.size === UNITS.length, 'a runs every unit');
    members.push(await joinQuickly(server, job, 'b', b, log('b')));
  } catch (error) {
    await dispose();
    throw error;
  }
  return { a, b, [Symbol.asyncDispose]: dispose };
}

test('group - a handover that does not end is logged at warn by both workers, with what each waits for', async () => {
  await using server = await startNatsServer();
  const registry = new UnitRegistry();
  const lines: string[] = [];
  await using handover = await startHandover(server, 'slow-stop', registry, (name) => ({
    ...logger,
    warn: (m: string) => lines.push(`${name} warn ${m}`),
  }));
  const { a, b } = handover;
  await waitFor(
    () =>
      lines.some((line) => /^a warn partition count\.p\d has been stopping for \d+ ms: its graceful stop/.test(line)) &&
      lines.some((line) =>
        /^b warn partition count\.p\d is this worker's by the assignment but has not run here for \d+ ms: worker a holds its lease and heartbeats; waiting for it to hand the partition over/.test(
          line,
        ),
      ),
    'both say what they wait for',
  );
  assert.is(b.running.size, 0, 'nothing moved while the stops had not ended');
  a.stopsEnd();
  await waitFor(() => a.running.size === 4 && b.running.size === 4, 'the handover ends: 4 units each');
  assert.equal(registry.violations, []);
});

test('group - a graceful stop that never ends is abandoned after 12 lease TTLs: the partition moves on', async () => {
  await using server = await startNatsServer();
  const registry = new UnitRegistry();
  const lines: string[] = [];
  await using handover = await startHandover(server, 'hung-stop', registry, () => ({
    ...logger,
    warn: (m: string) => lines.push(m),
  }));
  const { a, b } = handover;
  // The stops are never let end.
  await waitFor(() => a.running.size === 4 && b.running.size === 4, 'the handover ends: 4 units each');
  const abandoned = a.calls.filter((call) => call.call === 'abandon').map((call) => call.unit);
  assert.equal(abandoned.sort(), [...b.running].sort(), 'a abandoned what b runs now');
  assert.ok(
    lines.some((line) =>
      /^partition count\.p\d did not stop cleanly \(it had not stopped after 12000 ms\): abandoned it; its next owner replays from its last checkpoint$/.test(
        line,
      ),
    ),
    lines.join('\n'),
  );
  assert.equal(registry.violations, []);
});

/**
 * A server whose account may have one consumer, taken by another: the group's watch (a consumer) is
 * refused each time it is opened, while its writes and reads work.
 */
async function serverRefusingWatches(job: string) {
  const server = await startConfiguredNatsServer(
    'accounts { APP { jetstream: { max_consumers: 1 }, users: [{ user: app, password: app }] } }',
  );
  const nc = await connect({ servers: server.url, user: 'app', pass: 'app' });
  const kv = await createGroupBucket(nc, job, 1);
  await (
    await jetstream(nc).jetstreamManager()
  ).consumers.add(`KV_${groupBucketName(job)}`, {
    durable_name: 'the-only-one',
  });
  return { server, nc, kv };
}

/** How `joining` failed; a guard against the old behaviour (waiting for ever), not a timing assertion. */
async function joinFailure(joining: Promise<WorkerGroup>): Promise<unknown> {
  let guard: NodeJS.Timeout | undefined;
  return Promise.race([
    joining.then(async (group) => {
      await group.close();
      return assert.unreachable('the join must fail');
    }),
    new Promise((_, reject) => (guard = setTimeout(() => reject(new Error('still joining after 60 s')), 60_000))),
  ])
    .then(
      () => undefined,
      (error: unknown) => error,
    )
    .finally(() => clearTimeout(guard));
}

test('group - a worker whose watch never delivers its first heartbeat gives up joining with a GroupJoinError', async () => {
  const { server, nc, kv } = await serverRefusingWatches('no-watch');
  await using _server = server;
  try {
    const host = new RecordingHost('w', new UnitRegistry());
    const error = await joinFailure(
      joinWorkerGroup({ connection: nc, job: 'no-watch', workerId: 'w', units: UNITS, leaseTtlMs: 500, logger, host }),
    );
    assert.is((error as { code?: string }).code, 'GROUP_JOIN', String(error));
    assert.match(
      (error as Error).message,
      /could not join the group of job no-watch: the watch of bucket .* did not deliver its first heartbeat/,
    );
    assert.match(String((error as Error).cause), /maximum consumers/);
    assert.is((error as { retryable?: boolean }).retryable, true);
    assert.equal(host.calls, [], 'it ran nothing');
    assert.is.not((await kv.get('worker.w'))?.operation, 'PUT', 'its heartbeat is gone: the others do not count it');
  } finally {
    await nc.close();
  }
});

test('group - a worker whose connection closes while it joins fails to join instead of joining blind', async () => {
  const { server, nc, kv } = await serverRefusingWatches('closed-join');
  await using _server = server;
  const host = new RecordingHost('w', new UnitRegistry());
  // Once its heartbeat is stored and its watch failed: the connection closes under the join.
  let closing = false;
  const closeOnWatchFailure = (line: string): void => {
    if (closing || !/watch/.test(line)) return;
    void kv.get('worker.w').then((entry) => {
      if (closing || entry?.operation !== 'PUT') return;
      closing = true;
      void nc.close();
    });
  };
  const watching = { ...logger, debug: closeOnWatchFailure, warn: closeOnWatchFailure };
  const error = await joinFailure(
    joinWorkerGroup({
      connection: nc,
      job: 'closed-join',
      workerId: 'w',
      units: UNITS,
      leaseTtlMs: 500,
      logger: watching,
      host,
    }),
  );
  assert.is((error as { code?: string }).code, 'GROUP_JOIN', String(error));
  assert.match(String((error as Error).cause), /connection closed/);
  assert.equal(host.calls, [], 'it ran nothing');
});

// ---- a worker in its own process, stalled with SIGSTOP ---------------------------------------------

interface ChildWorker {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<void>;
}

function startChild(server: NatsServerHandle, job: string, worker: string): ChildWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/group/fixtures/group-worker.ts'], {
    env: {
      ...process.env,
      GROUP_NATS: server.url,
      GROUP_JOB: job,
      GROUP_WORKER: worker,
      GROUP_UNITS: UNITS.join(','),
      GROUP_TTL_MS: String(TTL_MS),
    },
    stdio: ['ignore', 'pipe', process.env.STATOR_TEST_TRACE === '1' ? 'inherit' : 'ignore'],
  });
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>);
      buffer = buffer.slice(newline + 1);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, lines, exited };
}

/** What a child runs, replaying its host calls. */
function childRunning(lines: readonly Record<string, unknown>[]): Set<string> {
  const running = new Set<string>();
  for (const line of lines) {
    if (line.call === 'start') running.add(line.unit as string);
    else if (line.call === 'stop' || line.call === 'abandon') running.delete(line.unit as string);
  }
  return running;
}

test('group - a stalled worker (SIGSTOP past its TTL) abandons everything on waking, before anything else, then rejoins', async () => {
  await using server = await startNatsServer();
  const registry = new UnitRegistry();
  const zombie = startChild(server, 'stall-test', 'worker-z');
  const members: Member[] = [];
  try {
    await waitFor(() => childRunning(zombie.lines).size === 8, 'the child worker to run all 8 units', {
      limitMs: 60_000,
    });
    members.push(await join(server, 'stall-test', 'worker-a', registry));
    members.push(await join(server, 'stall-test', 'worker-b', registry));
    const sharing = (): boolean => {
      const z = childRunning(zombie.lines);
      const owners = ownership(members);
      return z.size + owners.size === 8 && [...z].every((unit) => !owners.has(unit)) && z.size >= 2 && z.size <= 3;
    };
    await waitFor(sharing, 'three workers sharing 8 units');
    // The child's host calls reach us through its stdout: wait until they stop coming (a rebalance
    // step may still be on its way), so `frozen` is what it runs when it is stopped.
    let linesSeen = zombie.lines.length;
    await waitFor(async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const quiet = zombie.lines.length === linesSeen;
      linesSeen = zombie.lines.length;
      return quiet && sharing();
    }, 'the child worker to settle');
    const frozen = childRunning(zombie.lines);
    const seenBeforeStop = zombie.lines.length;
    const eventsBefore = members.map((m) => m.events.length);

    zombie.child.kill('SIGSTOP');
    // The others take the stalled worker's units after its lease expires; its state meanwhile is frozen.
    await waitFor(() => balanced(members), 'worker-a and worker-b to run all 8');
    const taken = [...members[0]!.events.slice(eventsBefore[0]), ...members[1]!.events.slice(eventsBefore[1])].filter(
      (e) => e.type === 'took' && frozen.has(e.unit),
    );
    assert.is(taken.length, frozen.size);
    assert.ok(taken.every((e) => e.type === 'took' && e.from === 'worker-z' && e.reason === 'lease expired'));

    zombie.child.kill('SIGCONT');
    await waitFor(
      () => childRunning(zombie.lines).size >= 2 && sharing(),
      'the woken worker to rejoin and get its share back',
    );
    const afterWake = zombie.lines.slice(seenBeforeStop).filter((line) => line.call !== undefined);
    const firstCalls = afterWake.slice(0, frozen.size);
    assert.ok(
      firstCalls.every((line) => line.call === 'abandon'),
      `the first host calls after waking abandon: ${JSON.stringify(afterWake)}`,
    );
    assert.equal(new Set(firstCalls.map((line) => line.unit)), frozen, 'every unit it ran is abandoned');
    // The in-process hosts never overlapped, and the units the zombie runs again were handed back gracefully.
    assert.equal(registry.violations, []);
    const handedBack = [...childRunning(zombie.lines)];
    for (const unit of handedBack) assert.ok(!ownership(members).has(unit));
    const lease = await (
      await new Kvm(jetstream(members[0]!.nc)).open(groupBucketName('stall-test'))
    ).get(`lease.${handedBack[0]!}`);
    assert.is(lease?.json<{ worker: string }>().worker, 'worker-z');
  } finally {
    zombie.child.kill('SIGCONT');
    zombie.child.kill('SIGTERM');
    // A graceful leave; should it hang, the child must not outlive the test.
    const guard = setTimeout(() => zombie.child.kill('SIGKILL'), 20_000);
    await zombie.exited;
    clearTimeout(guard);
    for (const member of members) await leave(member);
  }
  assert.equal(registry.violations, []);
});

/** Blocks this process while another one writes `key` as worker-b's lease, on the revision it holds now. */
function takeLease(url: string, bucket: string, key: string): void {
  const record = {
    unit: key.slice('lease.'.length),
    worker: 'worker-b',
    instance: 'b',
    takenAt: new Date().toISOString(),
  };
  const script = `
    import { connect } from '@nats-io/transport-node';
    import { jetstream } from '@nats-io/jetstream';
    import { Kvm } from '@nats-io/kv';
    const nc = await connect({ servers: ${JSON.stringify(url)} });
    const kv = await new Kvm(jetstream(nc)).open(${JSON.stringify(bucket)});
    const entry = await kv.get(${JSON.stringify(key)});
    await kv.update(${JSON.stringify(key)}, ${JSON.stringify(JSON.stringify(record))}, entry.revision);
    await nc.close();`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 30_000 });
}

test.run();
