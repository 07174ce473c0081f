// readGroupStatus (what `stator status` shows) from a real group bucket: a unit marked failed holds
// no lease, so with no heartbeat to list the job's units (no worker running, or its heartbeat
// late on a loaded machine) its failure record alone must name it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../support/index.ts';
import { readGroupStatus } from '../../runtime/group/index.ts';
import { createGroupBucket, encodeRecord, failureKey, type FailureRecord } from '../../runtime/group/group-bucket.ts';

test('a unit marked failed shows in the status with no worker running', async () => {
  await using server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  try {
    const kv = await createGroupBucket(nc, 'status-test', 1);
    const failure: FailureRecord = {
      unit: 'count.p1',
      failures: 3,
      error: 'open() of partition 1 fails (test)',
      worker: 'host-1',
      at: new Date().toISOString(),
      failed: true,
    };
    await kv.put(failureKey('count.p1'), encodeRecord(failure));
    const status = await readGroupStatus(nc, 'status-test');
    assert.equal(status.workers, []);
    assert.equal(
      status.units.map((u) => [u.unit, u.owner, u.failure?.failed, u.failure?.failures]),
      [['count.p1', undefined, true, 3]],
    );
  } finally {
    await nc.close();
  }
});

test.run();
