// NATS mode's command log against a real nats-server: positions as stream sequences, reads after a
// position of one partition's subject only, writes queued during a publish batched into one
// message, and fencing: once another owner claims the subject, a former owner's appends fail.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNats, ensureStream } from '../../../runtime/nats/index.ts';
import type { NatsLink } from '../../../runtime/nats/index.ts';
import { jobStreamNames } from '../../../runtime/nats/stream-names.ts';
import { JetStreamCommandLog, StateUnavailableError, clearStateCommands } from '../../../runtime/state-api/index.ts';
import type { StateCommandRecord } from '../../../runtime/state-api/index.ts';
import { startNatsServer } from '../../support/index.ts';

const record = (seq: number, id: string): StateCommandRecord => ({
  seq,
  after: seq * 10,
  id,
  command: { stage: 'count', atomic: false, ops: [{ op: 'upsert', key: `k${seq}`, value: { count: seq } }] },
});

const names = jobStreamNames('job');

async function stateStream(link: NatsLink): Promise<void> {
  await ensureStream(await link.jetstreamManager(), {
    name: names.stateCommandStream,
    subjects: names.stateCommandSubjects,
    minDuplicateWindowMs: 120_000,
  });
}

function log(link: NatsLink, partition: number, onFenced?: (error: Error) => void): JetStreamCommandLog {
  return new JetStreamCommandLog({
    link,
    stream: names.stateCommandStream,
    subject: names.stateCommandSubject('count', partition),
    ...(onFenced === undefined ? {} : { onFenced }),
  });
}

test('appends after a claim, read back after a position, per partition subject; trimming keeps the last', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await stateStream(link);
  const p0 = log(link, 0);
  const p1 = log(link, 1);
  try {
    let early: unknown;
    await p0.append(record(1, 'x')).catch((error: unknown) => (early = error));
    assert.match(String(early), /before claim/);
    await p0.claim(); // seq 1
    await p1.claim(); // seq 2
    assert.equal(await p0.readAfter(0), [], 'a claim is not a record');
    assert.equal(await p0.append(record(1, 'a')), { position: 3, duplicate: false });
    assert.equal(await p1.append(record(1, 'b')), { position: 4, duplicate: false });
    assert.equal(await p0.append(record(2, 'c')), { position: 5, duplicate: false });
    const all = await p0.readAfter(0);
    assert.equal(
      all.map((r) => [r.position, r.record.id]),
      [
        [3, 'a'],
        [5, 'c'],
      ],
    );
    assert.equal(all[1]!.record, record(2, 'c'));
    assert.equal(
      (await p0.readAfter(3)).map((r) => r.position),
      [5],
    );
    assert.equal(await p0.readAfter(5), []);
    assert.equal(
      (await p1.readAfter(0)).map((r) => r.record.id),
      ['b'],
    );
    // Trimmed through a checkpoint's position: later records stay, the other partition's too.
    await p0.trimThrough(3);
    assert.equal(
      (await p0.readAfter(0)).map((r) => r.position),
      [5],
    );
    // Through the last record: the last stays (the next append expects it), and appends go on.
    await p0.trimThrough(5);
    assert.equal(
      (await p0.readAfter(0)).map((r) => r.position),
      [5],
    );
    assert.equal(await p0.append(record(3, 'd')), { position: 6, duplicate: false });
    assert.equal(
      (await p1.readAfter(0)).map((r) => r.record.id),
      ['b'],
    );
    assert.is(await clearStateCommands(link, 'job'), 4);
    assert.is(await clearStateCommands(link, 'nothing-here'), 0, 'a job without a state stream: nothing to clear');
  } finally {
    await p0.close();
    await p1.close();
  }
  await p0.close();
  let refused: unknown;
  await p0.append(record(9, 'z')).catch((error: unknown) => (refused = error));
  assert.match(String(refused), /closed/);
});

test('writes made while a publish is in flight go out together, in order, each durable before it resolves', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await stateStream(link);
  const p0 = log(link, 0);
  try {
    await p0.claim();
    const appended = await Promise.all(Array.from({ length: 50 }, (_, i) => p0.append(record(i + 1, `w${i}`))));
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

test("a former owner's appends fail once another owner claimed the subject: nothing of them is stored", async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await stateStream(link);
  const fenced: Error[] = [];
  const former = log(link, 0, (error) => fenced.push(error));
  const next = log(link, 0);
  try {
    await former.claim();
    await former.append(record(1, 'before'));
    await next.claim();
    let refused: unknown;
    await former.append(record(2, 'zombie')).catch((error: unknown) => (refused = error));
    assert.ok(refused instanceof StateUnavailableError, String(refused));
    assert.is(fenced.length, 1, 'onFenced was called');
    let again: unknown;
    await former.append(record(3, 'zombie-2')).catch((error: unknown) => (again = error));
    assert.ok(again instanceof StateUnavailableError, 'it takes no more');
    await next.append(record(2, 'after'));
    assert.equal(
      (await next.readAfter(0)).map((r) => r.record.id),
      ['before', 'after'],
    );
  } finally {
    await former.close();
    await next.close();
  }
});

test.run();
