// Pre-partitioned input: a producer publishes each page view to sessions_parts.in.<p>, p being
// partitionOf(user, 3) from stator/client; the scaled-out job reads each partition in its own unit
// (in.i0..in.i2) and the stage's watermark is the minimum over the three, so session windows close
// per user exactly as in one embedded process over the same views; `stator status` shows each unit's
// position at the end of its own subject and LAG 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../runtime/index.ts';
import { partitionOf } from '../../runtime/client.ts';
import {
  connectNats,
  createStreamSink,
  ensureSubjectStream,
  subjectStreamName,
  type NatsLink,
} from '../../runtime/nats/index.ts';
import { openWorkerRuntime } from '../../runtime/nats/open-worker.ts';
import { nats } from '../../runtime/transport.ts';
import type { PageView } from '../../examples/sessions.ts';
import type { GroupStatus } from '../../runtime/group/index.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { waitFor } from '../support/wait-for.ts';
import { killAll, runCli } from '../runtime/support/cli.ts';
import {
  END,
  embeddedSessions,
  perUser,
  runWorkerUntilStored,
  sessionsJob,
  views,
  type Line,
} from './sessions-support.ts';

test.after(killAll);

const PARTITIONS = 3;
const job = sessionsJob('sessions_parts', 2, PARTITIONS);

/** Each view to its user's partition; then the end of input as a watermark message on every partition. */
async function producePartitioned(link: NatsLink, input: readonly PageView[]): Promise<number[]> {
  await ensureSubjectStream(await link.jetstreamManager(), 'sessions_parts.in', {
    defaultName: subjectStreamName('sessions_parts.in'),
    alsoSubjects: ['sessions_parts.in.>'],
  });
  const perPartition = new Array<number>(PARTITIONS).fill(0);
  await using sink = createStreamSink(link);
  const publish = (partition: number, line: Line, msgId: string): void => {
    perPartition[partition]!++;
    sink.publish({
      subject: `sessions_parts.in.${partition}`,
      data: new TextEncoder().encode(JSON.stringify(line)),
      msgId,
    });
  };
  for (const [i, view] of input.entries()) {
    if (sink.congested) await sink.whenUncongested();
    publish(partitionOf(view.user, PARTITIONS), view, `v${i}`);
  }
  for (let p = 0; p < PARTITIONS; p++) publish(p, END, `end${p}`);
  await sink.flush();
  return perPartition;
}

/**
 * `stator status` of the running worker, once it has worked off everything: each unit's POSITION is
 * the last sequence of its own subject (its input partition, or its partition of the exchange) and
 * its LAG 0, in the table and in --json.
 */
async function statusShowsEveryUnitCaughtUp(url: string, link: NatsLink): Promise<void> {
  const jsm = await link.jetstreamManager();
  const lastSeq = async (stream: string, subject: string): Promise<number> =>
    (await jsm.streams.getMessage(stream, { last_by_subj: subject }))!.seq;
  const expected: Record<string, { position: number; lag: number }> = {};
  for (let p = 0; p < PARTITIONS; p++)
    expected[`in.i${p}`] = { position: await lastSeq('SESSIONS_PARTS_IN', `sessions_parts.in.${p}`), lag: 0 };
  for (let p = 0; p < 2; p++) {
    const subject = `stator.sessions_parts.sessionize.p${p}`;
    expected[`sessionize.p${p}`] = { position: await lastSeq('STATOR_SESSIONS_PARTS_SESSIONIZE', subject), lag: 0 };
  }
  const shown = (status: GroupStatus): Record<string, { position: number | undefined; lag: number | undefined }> =>
    Object.fromEntries(status.units.map((u) => [u.unit, { position: u.progress?.position, lag: u.progress?.lag }]));
  let status: GroupStatus | undefined;
  // Progress travels with the heartbeats (every TTL/3): wait for one sent after the last message.
  await waitFor(
    async () => {
      const result = await runCli(['status', '--job', 'sessions_parts', '--nats', url, '--json']);
      assert.is(result.code, 0, result.stderr);
      status = JSON.parse(result.stdout) as GroupStatus;
      return JSON.stringify(shown(status)) === JSON.stringify(expected);
    },
    'every unit at the end of its subject in the status',
    { limitMs: 60_000, intervalMs: 500 },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}: expected ${JSON.stringify(expected)}, shown ${JSON.stringify(status)}`);
  });
  const table = await runCli(['status', '--job', 'sessions_parts', '--nats', url]);
  assert.is(table.code, 0, table.stderr);
  for (const [unit, { position }] of Object.entries(expected)) {
    // PARTITION OWNER LEASE POSITION LAG ...
    assert.match(table.stdout, new RegExp(`\\n${unit.replace('.', '\\.')}\\s+\\S+\\s+\\d+\\s+${position}\\s+0\\s`));
  }
}

test('3 input partitions fed by partitionOf: sessions close per user exactly as in one embedded process', async () => {
  const input = views(2500);
  const reference = await embeddedSessions(job, input);
  assert.ok(reference.length > 100, `the data must make many sessions (${reference.length})`);

  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const perPartition = await producePartitioned(link, input);
  // partitionOf spreads the 40 users over all three partitions.
  assert.ok(
    perPartition.every((n) => n > 1),
    `views per partition: ${perPartition.join(', ')}`,
  );
  const { outputs, units, logs } = await runWorkerUntilStored(server.url, link, job, reference.length, () =>
    statusShowsEveryUnitCaughtUp(server.url, link),
  );
  assert.equal(units, ['in.i0', 'in.i1', 'in.i2', 'sessionize.p0', 'sessionize.p1'], logs.join(''));
  assert.is(outputs.length, reference.length, logs.join(''));
  assert.equal(perUser(outputs), perUser(reference));
});

test('a pre-partitioned input needs --scale-out: a worker of the job as one unit refuses it with a clear error', async () => {
  const failure = await openWorkerRuntime({
    job,
    transport: nats({ servers: 'nats://127.0.0.1:1' }),
    logger: createLogger('silent'),
    checkpointIntervalMs: 200,
    maxRetries: undefined,
    http: undefined,
  }).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.instance(failure, Error);
  assert.match((failure as Error).message, /pre-partitioned input .*3 partitions.*add --scale-out/);
});

test.run();
