// Embedded mode's command log file: appends durable in order, read back after a position, and
// trimmed (its head dropped by a synced copy renamed over it) while appends go on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileCommandLog, appendCommand } from '../../../runtime/state-api/index.ts';
import type { StateCommandRecord } from '../../../runtime/state-api/index.ts';
import { tempDir } from '../support/cli.ts';

const tmp = tempDir('file-command-log');
test.after(() => tmp.remove());

const record = (seq: number): StateCommandRecord => ({
  seq,
  after: seq * 10,
  command: { stage: 'count', atomic: false, ops: [{ op: 'upsert', key: `k${seq}`, value: { count: seq } }] },
});

const seqs = async (log: FileCommandLog, after = 0): Promise<number[]> =>
  (await log.readAfter(after)).map((c) => c.record.seq);

test('trimThrough drops the records up to a position; appends during the trim are all kept', async () => {
  const path = join(tmp.dir, 'trim', 'state-commands.jsonl');
  const log = new FileCommandLog(path);
  for (let seq = 1; seq <= 10; seq++) await appendCommand(log, record(seq));
  assert.equal(await seqs(log), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // Appends racing the trim: queued behind it or written before it, none lost.
  const racing = [11, 12, 13].map((seq) => appendCommand(log, record(seq)));
  await Promise.all([log.trimThrough(6), ...racing]);
  assert.equal(await seqs(log), [7, 8, 9, 10, 11, 12, 13]);
  assert.equal(await seqs(log, 9), [10, 11, 12, 13], 'positions are still the records');
  await appendCommand(log, record(14));
  await log.trimThrough(12);
  await log.trimThrough(8); // behind an earlier trim: nothing comes back
  assert.equal(await seqs(log), [13, 14]);
  assert.not.ok(existsSync(`${path}.trim`), 'no copy left behind');
  await log.close();
  await log.close();
  // A new log on the same file (the next run) reads what the trims kept, line by line.
  const next = new FileCommandLog(path);
  assert.equal(await seqs(next), [13, 14]);
  assert.is(readFileSync(path, 'utf8').split('\n').length, 3, 'two records, each on its own line');
  await appendCommand(next, record(15));
  assert.equal(await seqs(next), [13, 14, 15]);
  await next.close();
});

test('trimming everything leaves an empty log that takes appends', async () => {
  const path = join(tmp.dir, 'all', 'state-commands.jsonl');
  const log = new FileCommandLog(path);
  await appendCommand(log, record(1));
  await appendCommand(log, record(2));
  await log.trimThrough(2);
  assert.equal(await seqs(log), []);
  assert.is(readFileSync(path, 'utf8'), '');
  await appendCommand(log, record(3));
  assert.equal(await seqs(log), [3]);
  await log.close();
});

test.run();
