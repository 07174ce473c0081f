import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNats } from '../../runtime/nats/index.ts';
import { createGroupBucket, groupBucketName } from '../../runtime/group/group-bucket.ts';
import { leaderKvReader, type LeaderKvRead } from '../../runtime/nats/kv-leader-get.ts';
import {
  encodeLayout,
  LAYOUT_KEY,
  settleJobLayout,
  type JobLayout,
  type LayoutLock,
} from '../../runtime/nats/job-layout.ts';
import { createLogger } from '../../runtime/index.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { killFor } from '../support/server-outage.ts';

const LEASE_TTL_MS = 300;
const from = { inputPartitions: null, parallelism: { count: 4 }, generations: {} };
const target = { inputPartitions: null, parallelism: { count: 6 }, generations: {} };
// A rescale from 4 to 6 partitions whose worker died: nobody refreshes the record.
const stale = { ...target, rescale: { from, by: 'host-1', refreshedAt: new Date(0).toISOString() } };

function settle(
  kv: Awaited<ReturnType<typeof createGroupBucket>>,
  latest: LeaderKvRead,
  wanted: JobLayout,
  rescaled: string[],
  checkpointed: () => Promise<Record<string, number>> = () => Promise.resolve({}),
  moved: (lock: LayoutLock) => Promise<void> = () => Promise.resolve(),
) {
  return settleJobLayout({
    kv,
    latest,
    job: 'wordcount',
    worker: 'host-2',
    wanted,
    checkpointed,
    leaseTtlMs: LEASE_TTL_MS,
    logger: createLogger('silent'),
    pollMs: 20,
    rescale: async (lock) => {
      rescaled.push(JSON.stringify(lock.record.parallelism));
      await moved(lock);
    },
  });
}

test('a worker of another layout than a stale rescale exits with what to start; one of its layout takes it over', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const kv = await createGroupBucket(link.nc, 'wordcount', 1);
  const latest = await leaderKvReader(link.nc, groupBucketName('wordcount'));
  await kv.put(LAYOUT_KEY, encodeLayout(stale));
  const rescaled: string[] = [];
  try {
    // A guard against the old behaviour (waiting for ever), not a timing assertion.
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([
      settle(kv, latest, { inputPartitions: null, parallelism: { count: 4 } }, rescaled),
      new Promise((_, reject) => (guard = setTimeout(() => reject(new Error('still waiting after 30 s')), 30_000))),
    ]).finally(() => clearTimeout(guard));
    assert.unreachable('a worker of the old layout must not wait for ever');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'LAYOUT_MISMATCH');
    assert.match(
      (error as Error).message,
      /job wordcount runs with --parallelism count=6 .* this worker was started with --parallelism count=4: worker host-1 started rescaling the job to this layout and stopped before it finished .*; only a worker started with --parallelism count=6 can finish the rescale/,
    );
  }
  assert.equal(rescaled, [], 'it did not rescale');

  const settled = await settle(kv, latest, { inputPartitions: null, parallelism: { count: 6 } }, rescaled);
  assert.equal(rescaled, ['{"count":6}'], 'the worker of the target layout finished the rescale');
  assert.equal(settled.record.parallelism, { count: 6 });
  assert.is(settled.record.rescale, undefined);
  assert.equal(settled.record.generations, { count: 1 });
});

test('the first worker of a job records its layout once the server that died before it wrote it is back', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url, maxOutage: '60s' });
  const kv = await createGroupBucket(link.nc, 'wordcount', 1);
  const latest = await leaderKvReader(link.nc, groupBucketName('wordcount'));
  let outage: { readonly restarted: Promise<void> } | undefined;
  try {
    // Asked between reading that the job has no layout yet and writing it: the server dies then.
    const settled = await settle(kv, latest, { inputPartitions: null, parallelism: { count: 4 } }, [], async () => {
      outage = await killFor(server);
      return {};
    });
    assert.equal(settled.record.parallelism, { count: 4 });
    assert.is((await latest(LAYOUT_KEY))?.revision, settled.revision);
  } finally {
    await outage?.restarted;
  }
});

test('a rescale records its progress and its new layout once the server that died during it is back', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url, maxOutage: '60s' });
  const kv = await createGroupBucket(link.nc, 'wordcount', 1);
  const latest = await leaderKvReader(link.nc, groupBucketName('wordcount'));
  await kv.put(LAYOUT_KEY, encodeLayout(from));
  const rescaled: string[] = [];
  let outage: { readonly restarted: Promise<void> } | undefined;
  try {
    // The old units drained: the server dies before the rescale records it.
    const settled = await settle(
      kv,
      latest,
      { inputPartitions: null, parallelism: { count: 6 } },
      rescaled,
      undefined,
      async (lock) => {
        outage = await killFor(server);
        await lock.update({
          ...lock.record,
          rescale: { ...lock.record.rescale!, drained: { boundary: { count: 0 }, checkpoints: {} } },
        });
      },
    );
    assert.equal(rescaled, ['{"count":6}']);
    assert.equal(settled.record.parallelism, { count: 6 });
    assert.equal(settled.record.generations, { count: 1 });
    assert.is(settled.record.rescale, undefined);
  } finally {
    await outage?.restarted;
  }
});

test.run();
