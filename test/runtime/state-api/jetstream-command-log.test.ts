// NATS mode's command log against a real nats-server: a stream per partition, positions as stream
// sequences, writes taken in together batched into one message and batches pipelined (each chained
// to the one before), fencing: once another owner claims the stream, a former owner's appends fail,
// also those in flight; acknowledgements lost in a server crash retried without a false fence; and
// the former one-stream layout claimed and read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNats, ensureStream } from '../../../runtime/nats/index.ts';
import type { NatsLink } from '../../../runtime/nats/index.ts';
import { jobStreamNames } from '../../../runtime/nats/stream-names.ts';
import {
  JetStreamCommandLog,
  StateUnavailableError,
  appendCommand,
  clearStateCommands,
} from '../../../runtime/state-api/index.ts';
import type { StateCommandRecord } from '../../../runtime/state-api/index.ts';
import { partitionCommandLane } from '../../../runtime/state-api/serve-nats-state-api.ts';
import { unappliedRecords } from '../../../runtime/state-api/state-command.ts';
import { startNatsServer } from '../../support/index.ts';

const record = (seq: number, id: string): StateCommandRecord => ({
  seq,
  after: seq * 10,
  id,
  command: { stage: 'count', atomic: false, ops: [{ op: 'upsert', key: `k${seq}`, value: { count: seq } }] },
});

const names = jobStreamNames('job');

const encoder = new TextEncoder();

function log(
  link: NatsLink,
  partition: number,
  onFenced?: (error: Error) => void,
  options: { maxBatch?: number; maxInFlight?: number; ackTimeoutMs?: number } = {},
): JetStreamCommandLog {
  return new JetStreamCommandLog({
    link,
    stream: names.stateLogStream('count', partition),
    subject: names.stateLogSubject('count', partition),
    ...(onFenced === undefined ? {} : { onFenced }),
    ...options,
  });
}

/** Every append acknowledged, no fence, each write (`w1`, `w2`...) stored once, in order, where acknowledged. */
async function assertEachStoredOnce(
  log: JetStreamCommandLog,
  appends: readonly Promise<{ position: number }>[],
  fenced: readonly Error[],
): Promise<void> {
  const settled = await settle(appends);
  for (const outcome of settled) assert.type(outcome, 'number', `acknowledged: ${String(outcome)}`);
  assert.is(fenced.length, 0, 'no false fence');
  const stored = await log.readAfter(0);
  assert.equal(
    stored.map((r) => r.record.id),
    Array.from({ length: appends.length }, (_, i) => `w${i + 1}`),
    'each write once, in order',
  );
  assert.equal(
    stored.map((r) => r.position),
    settled,
    'each write at the position it was acknowledged with',
  );
}

/** Settles every append: its position, or the error it was refused with. */
function settle(appends: readonly Promise<{ position: number }>[]): Promise<(number | unknown)[]> {
  return Promise.all(
    appends.map((a) =>
      a.then(
        (appended) => appended.position,
        (error: unknown) => error,
      ),
    ),
  );
}

test('appends after a claim, read back after a position, a stream per partition; trimming keeps the last', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const p0 = log(link, 0);
  const p1 = log(link, 1);
  try {
    let early: unknown;
    await appendCommand(p0, record(1, 'x')).catch((error: unknown) => (early = error));
    assert.match(String(early), /before claim/);
    await p0.claim(); // seq 1 of its stream, created by the claim
    await p1.claim(); // seq 1 of the other
    assert.equal(await p0.readAfter(0), [], 'a claim is not a record');
    assert.equal(await appendCommand(p0, record(1, 'a')), { position: 2, duplicate: false });
    assert.equal(await appendCommand(p1, record(1, 'b')), { position: 2, duplicate: false });
    assert.equal(await appendCommand(p0, record(2, 'c')), { position: 3, duplicate: false });
    const all = await p0.readAfter(0);
    assert.equal(
      all.map((r) => [r.position, r.record.id]),
      [
        [2, 'a'],
        [3, 'c'],
      ],
    );
    assert.equal(all[1]!.record, record(2, 'c'));
    assert.equal(
      (await p0.readAfter(2)).map((r) => r.position),
      [3],
    );
    assert.equal(await p0.readAfter(3), []);
    assert.equal(
      (await p1.readAfter(0)).map((r) => r.record.id),
      ['b'],
    );
    // Trimmed through a checkpoint's position: later records stay, the other partition's too.
    await p0.trimThrough(2);
    assert.equal(
      (await p0.readAfter(0)).map((r) => r.position),
      [3],
    );
    // Through the last record: the last stays, and appends go on, chained as before.
    await p0.trimThrough(3);
    assert.equal(
      (await p0.readAfter(0)).map((r) => r.position),
      [3],
    );
    assert.equal(await appendCommand(p0, record(3, 'd')), { position: 4, duplicate: false });
    assert.equal(await appendCommand(p0, record(4, 'e')), { position: 5, duplicate: false });
    assert.equal(
      (await p1.readAfter(0)).map((r) => r.record.id),
      ['b'],
    );
    assert.is(await clearStateCommands(link, 'job'), 5, 'p0: d, e (c was trimmed); p1: its claim and b');
    assert.is(await clearStateCommands(link, 'nothing-here'), 0, 'a job without a state stream: nothing to clear');
  } finally {
    await p0.close();
    await p1.close();
  }
  await p0.close();
  let refused: unknown;
  await appendCommand(p0, record(9, 'z')).catch((error: unknown) => (refused = error));
  assert.match(String(refused), /closed/);
});

test('writes taken in together go out together, batches pipelined, in order, each durable before it resolves', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const p0 = log(link, 0, undefined, { maxBatch: 4 });
  try {
    await p0.claim();
    const appended = await Promise.all(Array.from({ length: 50 }, (_, i) => appendCommand(p0, record(i + 1, `w${i}`))));
    const positions = appended.map((a) => a.position);
    assert.equal(
      positions,
      [...positions].sort((a, b) => a - b),
      'positions follow the order of the appends',
    );
    const messages = new Set(positions).size;
    assert.ok(messages < 50, `50 writes in ${messages} messages`);
    const read = await p0.readAfter(0);
    assert.equal(
      read.map((r) => r.record.id),
      Array.from({ length: 50 }, (_, i) => `w${i}`),
    );
    assert.equal(
      read.map((r) => r.position),
      positions,
    );
  } finally {
    await p0.close();
  }
});

test("a former owner's appends fail once another owner claimed the stream: nothing of them is stored", async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const fenced: Error[] = [];
  const former = log(link, 0, (error) => fenced.push(error));
  const next = log(link, 0);
  try {
    await former.claim();
    await appendCommand(former, record(1, 'before'));
    await next.claim();
    let refused: unknown;
    await appendCommand(former, record(2, 'zombie')).catch((error: unknown) => (refused = error));
    assert.ok(refused instanceof StateUnavailableError, String(refused));
    assert.is(fenced.length, 1, 'onFenced was called');
    let again: unknown;
    await appendCommand(former, record(3, 'zombie-2')).catch((error: unknown) => (again = error));
    assert.ok(again instanceof StateUnavailableError, 'it takes no more');
    await appendCommand(next, record(2, 'after'));
    assert.equal(
      (await next.readAfter(0)).map((r) => r.record.id),
      ['before', 'after'],
    );
  } finally {
    await former.close();
    await next.close();
  }
});

test("a claim that lands between a former owner's pipelined batches: the later ones are refused, not stored", async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const fenced: Error[] = [];
  // One record per batch, two batches in flight: batch 3 goes out once batch 1 is acknowledged.
  const former = log(link, 0, (error) => fenced.push(error), { maxBatch: 1, maxInFlight: 2 });
  try {
    await former.claim();
    const appends = Array.from({ length: 6 }, (_, i) => appendCommand(former, record(i + 1, `w${i + 1}`)));
    // Once batch 1 is acknowledged (batch 2 is on the wire, batch 3 not yet), another owner's claim
    // record goes out on the same connection, so the server sees: 1, 2, claim, 3 (chained to 2).
    await appends[0];
    const claim = link.js.publish(names.stateLogSubject('count', 0), encoder.encode('{"claim":"next"}'), {
      msgID: 'claim:next',
    });
    const settled = await settle(appends);
    const claimed = (await claim).seq;
    assert.equal(settled.slice(0, 2), [2, 3], 'the batches stored before the claim are acknowledged');
    for (const outcome of settled.slice(2))
      assert.ok(outcome instanceof StateUnavailableError, `refused after the claim: ${String(outcome)}`);
    assert.is(claimed, 4);
    assert.is(fenced.length, 1, 'onFenced was called once');
    assert.equal(
      (await former.readAfter(0)).map((r) => r.record.id),
      ['w1', 'w2'],
      'nothing of the former owner after the claim',
    );
  } finally {
    await former.close();
  }
});

test('a claim racing a pipelined owner: every acknowledged write is below the claim, no refused one is stored', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await using other = await connectNats({ nats: server.url });
  const former = log(link, 0, undefined, { maxBatch: 2, maxInFlight: 8 });
  const next = log(other, 0);
  try {
    await former.claim();
    const appends: Promise<{ position: number }>[] = [];
    // Writes keep coming until 100 after the claim is stored (however fast the owner's batches are
    // acknowledged), so the claim lands among them.
    let claimedAt: number | undefined;
    for (let i = 0; claimedAt === undefined || i < claimedAt + 100; i++) {
      const append = appendCommand(former, record(i + 1, `w${i + 1}`));
      append.catch(() => {}); // refused once the claim is stored: looked at below
      appends.push(append);
      if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
      if (i === 100) void next.claim().then(() => (claimedAt = appends.length));
      assert.ok(i < 100_000, 'the claim was not stored');
    }
    const settled = await settle(appends);
    await next.claim(); // a second claim: the first one's position is then below it
    const stored = (await next.readAfter(0)).map((r) => r.record.id);
    const acknowledged = settled.flatMap((outcome, i) => (typeof outcome === 'number' ? [`w${i + 1}`] : []));
    for (const outcome of settled)
      assert.ok(typeof outcome === 'number' || outcome instanceof StateUnavailableError, String(outcome));
    assert.equal(stored, acknowledged, 'exactly the acknowledged writes are stored, in order');
    assert.ok(acknowledged.length < appends.length, 'the writes after the claim are refused');
  } finally {
    await former.close();
    await next.close();
  }
});

test('acknowledgements lost when the server is killed mid-pipeline: retried, each write stored once, no false fence', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const fenced: Error[] = [];
  const p0 = log(link, 0, (error) => fenced.push(error), { maxBatch: 3, maxInFlight: 16, ackTimeoutMs: 500 });
  try {
    await p0.claim();
    const appends = Array.from({ length: 300 }, (_, i) => appendCommand(p0, record(i + 1, `w${i + 1}`)));
    await new Promise((resolve) => setImmediate(resolve));
    await server.kill();
    await server.restart();
    await assertEachStoredOnce(p0, appends, fenced);
    // The fencing still holds after the restart.
    const next = log(link, 0);
    await next.claim();
    let refused: unknown;
    await appendCommand(p0, record(301, 'zombie')).catch((error: unknown) => (refused = error));
    assert.ok(refused instanceof StateUnavailableError, String(refused));
    await next.close();
  } finally {
    await p0.close();
  }
});

test('acknowledgements that come too late (a stalled server): the batches are sent again, acknowledged as duplicates, stored once', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const fenced: Error[] = [];
  const p0 = log(link, 0, (error) => fenced.push(error), { maxBatch: 2, maxInFlight: 8, ackTimeoutMs: 300 });
  try {
    await p0.claim();
    // The server stops reading while the batches are on the wire; it stores them once it goes on,
    // after their publishes timed out and were sent again with the same ids.
    process.kill(server.pid!, 'SIGSTOP');
    const appends = Array.from({ length: 40 }, (_, i) => appendCommand(p0, record(i + 1, `w${i + 1}`)));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    process.kill(server.pid!, 'SIGCONT');
    await assertEachStoredOnce(p0, appends, fenced);
  } finally {
    process.kill(server.pid!, 'SIGCONT');
    await p0.close();
  }
});

test('close() twice while a batch awaits its acknowledgement: both calls resolve (close is idempotent)', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const p0 = log(link, 0);
  try {
    await p0.claim();
    // The server stops reading: the batch stays unanswered while close() is called twice.
    process.kill(server.pid!, 'SIGSTOP');
    const appended = appendCommand(p0, record(1, 'w1')).catch((error: unknown) => error);
    await new Promise((resolve) => setImmediate(resolve));
    const closes = [p0.close(), p0.close()].map((closing, i) =>
      closing.then(
        () => `close ${i + 1} resolved`,
        (error: unknown) => `close ${i + 1} rejected: ${String(error)}`,
      ),
    );
    process.kill(server.pid!, 'SIGCONT');
    const timeout = (i: number): Promise<string> =>
      new Promise((resolve) => setTimeout(() => resolve(`close ${i + 1} still pending after 10 s`), 10_000).unref());
    assert.equal(await Promise.all(closes.map((closing, i) => Promise.race([closing, timeout(i)]))), [
      'close 1 resolved',
      'close 2 resolved',
    ]);
    await appended;
  } finally {
    process.kill(server.pid!, 'SIGCONT');
    await p0.close();
  }
});

test("the former one-stream layout: claimed too (fencing an earlier version's owner) and read for old checkpoints", async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureStream(await link.jetstreamManager(), {
    name: names.stateCommandStream,
    subjects: names.stateCommandSubjects,
    minDuplicateWindowMs: 120_000,
  });
  // An earlier version's owner of partition 0: a claim, a record, a batch; partition 1's record between.
  const formerSubject = names.stateCommandSubject('count', 0);
  const publish = (subject: string, data: unknown): Promise<{ seq: number }> =>
    link.js.publish(subject, encoder.encode(JSON.stringify(data)));
  await publish(formerSubject, { claim: 'old' }); // 1
  await publish(formerSubject, record(1, 'a')); // 2
  await publish(names.stateCommandSubject('count', 1), record(1, 'other')); // 3
  await publish(formerSubject, { batch: [record(2, 'b'), record(3, 'c')] }); // 4
  const lane = partitionCommandLane({ link, job: 'job', duplicateWindowMs: 120_000 }, 'count', 0);
  try {
    await lane.log.claim();
    // The earlier version appends expecting its subject's last sequence (4): refused after the claim.
    let refused: unknown;
    await link.js
      .publish(formerSubject, encoder.encode(JSON.stringify(record(4, 'zombie'))), {
        expect: { lastSubjectSequence: 4 },
      })
      .catch((error: unknown) => (refused = error));
    assert.match(String(refused), /wrong last sequence/);
    await appendCommand(lane.log, record(4, 'd'));
    // A checkpoint of the former layout that covered write 1: writes 2 and 3 from the former stream, then d.
    const fromFormer = await unappliedRecords(lane, { 'state-commands.count.p0': 2, 'state-commands.count.p0.seq': 1 });
    assert.equal(
      fromFormer.records.map((r) => [r.position, r.record.id]),
      [
        [0, 'b'],
        [0, 'c'],
        [2, 'd'],
      ],
    );
    assert.equal([fromFormer.readFrom, fromFormer.seq], [0, 1]);
    // A checkpoint of the new layout: the former stream is not read.
    const own = await unappliedRecords(lane, { 'state-log.count.p0': 1, 'state-log.count.p0.seq': 3 });
    assert.equal(
      own.records.map((r) => r.record.id),
      ['d'],
    );
    // No checkpoint: everything, the former stream's first.
    assert.equal(
      (await unappliedRecords(lane, undefined)).records.map((r) => r.record.id),
      ['a', 'b', 'c', 'd'],
    );
    assert.is(await clearStateCommands(link, 'job'), 7, 'the former stream (5 with the claim) and p0 (claim, d)');
  } finally {
    await lane.log.close();
  }
});

test.run();
