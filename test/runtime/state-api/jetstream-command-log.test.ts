// NATS mode's command log against a real nats-server: a record per request id, positions as stream
// sequences, reads after a position of one partition's subject only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNats, ensureStream } from '../../../runtime/nats/index.ts';
import { jobStreamNames } from '../../../runtime/nats/stream-names.ts';
import { JetStreamCommandLog, clearStateCommands } from '../../../runtime/state-api/index.ts';
import type { StateCommandRecord } from '../../../runtime/state-api/index.ts';
import { startNatsServer } from '../../support/index.ts';

const record = (seq: number, id: string): StateCommandRecord => ({
  seq,
  after: seq * 10,
  id,
  command: { stage: 'count', atomic: false, ops: [{ op: 'upsert', key: `k${seq}`, value: { count: seq } }] },
});

test('appends are stored once per request id, read back after a position, per partition subject', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const names = jobStreamNames('job');
  await ensureStream(await link.jetstreamManager(), {
    name: names.stateCommandStream,
    subjects: names.stateCommandSubjects,
    minDuplicateWindowMs: 120_000,
  });
  const p0 = new JetStreamCommandLog({
    link,
    stream: names.stateCommandStream,
    subject: names.stateCommandSubject('count', 0),
  });
  const p1 = new JetStreamCommandLog({
    link,
    stream: names.stateCommandStream,
    subject: names.stateCommandSubject('count', 1),
  });
  try {
    assert.equal(await p0.readAfter(0), [], 'an empty subject');
    const first = await p0.append(record(1, 'a'));
    assert.equal(first, { position: 1, duplicate: false });
    assert.equal(await p1.append(record(1, 'b')), { position: 2, duplicate: false });
    assert.equal(await p0.append(record(2, 'c')), { position: 3, duplicate: false });
    // The same request again (a retry): not stored twice, the original's position.
    assert.equal(await p0.append(record(3, 'a')), { position: 1, duplicate: true });
    const all = await p0.readAfter(0);
    assert.equal(
      all.map((r) => [r.position, r.record.id]),
      [
        [1, 'a'],
        [3, 'c'],
      ],
    );
    assert.equal(all[1]!.record, record(2, 'c'));
    assert.equal(
      (await p0.readAfter(1)).map((r) => r.position),
      [3],
    );
    assert.equal(await p0.readAfter(3), []);
    assert.equal(
      (await p1.readAfter(0)).map((r) => r.record.id),
      ['b'],
    );
    // Trimmed through a checkpoint's position: later records stay, the other partition's too.
    await p0.trimThrough(1);
    assert.equal(
      (await p0.readAfter(0)).map((r) => r.position),
      [3],
    );
    assert.equal(
      (await p1.readAfter(0)).map((r) => r.record.id),
      ['b'],
    );
    assert.is(await clearStateCommands(link, 'job'), 2);
    assert.equal(await p0.readAfter(0), []);
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

test.run();
