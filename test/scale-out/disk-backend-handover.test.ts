// Scaled-out workers on the disk backend (a 32 KiB budget: most words live in each worker's local
// store) while units move between live workers: a second worker joins and takes units, leaves
// gracefully and hands them back to the first (which ran them before: it empties its copies and
// restores them from the second's final checkpoints), then a third joins and the first leaves,
// each move a cold restore from JetStream. Every word is counted once, in order per word; no
// worker leaves working copies behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats } from '../../runtime/nats/index.ts';
import {
  produce,
  referenceOutputs,
  streamMessages,
  text,
  waitFor,
  waitForAllOutputs,
  type JobProcess,
} from '../nats/wordcount-support.ts';
import { assertWordCountsOnce, createInputStream, killAll, leasesOf, logsOf, startWorker } from './support.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'stator-disk-handover-'));
test.after(() => rmSync(stateDir, { recursive: true, force: true }));

const DISK = ['--state-backend', 'disk', '--state-memory', '32KiB', '--state-dir', stateDir];

test('disk backend: units handed between live workers and back keep every count exactly once', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await createInputStream(link, 1);
  const lines = text(6000);
  const reference = await referenceOutputs(lines);
  const workers: JobProcess[] = [];
  const start = (): JobProcess => {
    const worker = startWorker(server.url, 1, DISK);
    workers.push(worker);
    return worker;
  };
  const until = (check: () => Promise<boolean>, what: string): Promise<void> =>
    waitFor(check, what).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${logsOf(workers)}`);
    });
  // Paced, so every move happens while words keep coming.
  const producing = produce(link, lines, 100, 150);
  try {
    const first = start();
    await until(async () => (await streamMessages(link, 'WORDCOUNT_OUT')) > 0, 'first outputs');
    const second = start();
    await until(async () => (await leasesOf(link, [second]))[0]! >= 2, 'the second worker took units');
    second.child.kill('SIGTERM');
    assert.is((await second.exited).code, 0, logsOf(workers));
    await until(async () => (await leasesOf(link, [first]))[0] === 5, 'the units back on the first worker');
    const third = start();
    await until(async () => (await leasesOf(link, [third]))[0]! >= 2, 'the third worker took units');
    first.child.kill('SIGTERM');
    assert.is((await first.exited).code, 0, logsOf(workers));
    await until(async () => (await leasesOf(link, [third]))[0] === 5, 'every unit on the third worker');
    await producing;
    await waitForAllOutputs(
      link,
      reference.length,
      () => third.stderr().length,
      () => third.child.exitCode !== null,
    );
    third.child.kill('SIGTERM');
    assert.is((await third.exited).code, 0, logsOf(workers));
  } finally {
    await killAll(workers);
    await producing.catch(() => undefined);
  }
  assert.match(workers[0]!.stderr(), /keyed state: disk backend/);
  await assertWordCountsOnce(link, reference, logsOf(workers));
  const copies = join(stateDir, 'wordcount', 'local', 'workers');
  assert.equal(existsSync(copies) ? readdirSync(copies) : [], [], 'no working copies left behind');
});

test.run();
