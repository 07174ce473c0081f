// The file sink on its own: how it reports a failed write to producers waiting for its backlog.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FileSink } from '../../../runtime/io/file-sink.ts';
import { ConfigError, FileWriteError, LifecycleError } from '../../../runtime/errors.ts';
import { tempDir } from '../support/cli.ts';
import { jsonCodec } from '../../../runtime/job/codecs.ts';
import { mountSmallFilesystem, reportSkipped } from '../../support/small-filesystem.ts';

/** How `promise` settled, or that it had not within `ms`. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      new Promise((resolve) => (timer = setTimeout(() => resolve(`pending after ${ms} ms`), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

test('file sink - restoring into a missing file that the checkpoint covers says so, and creates nothing', async () => {
  const tmp = tempDir('file-sink');
  try {
    const path = join(tmp.dir, 'out.jsonl');
    const sink = new FileSink<string>({ name: 'out', path, onError: () => {} }, jsonCodec<string>(), () => {});
    try {
      await sink.open(349, false);
      assert.unreachable('opened');
    } catch (error) {
      assert.instance(error, ConfigError);
      assert.is(
        (error as Error).message,
        `${path} does not exist, but the checkpoint covers 349 bytes of it: it was deleted or moved, or the earlier ` +
          'runs wrote it elsewhere; restore it, or start over with `stator checkpoints clear` and a fresh output file',
      );
    }
    assert.not.ok(existsSync(path), 'no empty file left behind');
  } finally {
    tmp.remove();
  }
});

test('file sink - a failed write rejects every whenUncongested() waiter with the error it reports, and later waits at once', async () => {
  const reported: unknown[] = [];
  // Every write to /dev/full fails with ENOSPC, as on a full disk.
  const sink = new FileSink<string>(
    {
      name: 'out',
      path: '/dev/full',
      maxBufferedBytes: 64,
      writeThresholdBytes: 1024 * 1024,
      onError: (error) => reported.push(error),
    },
    jsonCodec<string>(),
    () => {},
  );
  await sink.open();
  try {
    for (let i = 0; i < 10; i++) sink.data(`line ${i}`, 0, i);
    assert.ok(sink.congested);
    const waiters = [sink.whenUncongested(), sink.whenUncongested()];
    const outcomes = await Promise.all(waiters.map((waiter) => settledWithin(waiter, 2000)));
    assert.is(reported.length, 1);
    const failure = reported[0];
    assert.instance(failure, FileWriteError);
    assert.match((failure as Error).message, /ENOSPC/);
    const described = outcomes.map((outcome) => (outcome === failure ? 'rejected with it' : String(outcome)));
    assert.equal(described, ['rejected with it', 'rejected with it']);
    // The sink is failed: a producer that asks now learns it at once.
    for (let i = 0; i < 10; i++) sink.data(`again ${i}`, 0, i);
    assert.ok(sink.congested);
    assert.is(await settledWithin(sink.whenUncongested(), 2000), failure);
  } finally {
    await sink.close().catch(() => {});
  }
});

/** A sink on `path` whose first write failure settles `failed`. */
function sinkReportingFailure(path: string): { sink: FileSink<string>; failed: Promise<unknown> } {
  let report: (error: unknown) => void = () => {};
  const failed = new Promise<unknown>((resolve) => (report = resolve));
  const sink = new FileSink<string>(
    { name: 'out', path, onError: (error) => report(error) },
    jsonCodec<string>(),
    () => {},
  );
  return { sink, failed };
}

test('file sink - after a failed write it starts no other: lines appended later are refused, flush and close reject with that error', async () => {
  const { sink, failed } = sinkReportingFailure('/dev/full');
  await sink.open();
  sink.data('first', 0, 0);
  const failure = await failed;
  assert.instance(failure, FileWriteError);
  const written = sink.writtenBytes;
  sink.data('after the failure', 0, 1);
  // The write an append schedules runs at the end of this turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(sink.writtenBytes, written, 'no write was started after the failure');
  assert.is(sink.appendedLength, written, 'the refused line is not buffered either');
  assert.is(await sink.flush(true).catch((error: unknown) => error), failure);
  assert.is(await sink.durableTo(written + 1).catch((error: unknown) => error), failure);
  assert.is(await sink.close().catch((error: unknown) => error), failure);
  await sink.close();
});

test('file sink - once space is freed after a failed write, nothing lands past the failure', async () => {
  const name = 'file sink - nothing past a failed write';
  const fs = mountSmallFilesystem(64 * 1024);
  if (typeof fs === 'string') return reportSkipped(name, fs);
  try {
    const path = join(fs.path, 'out.jsonl');
    const { sink, failed } = sinkReportingFailure(path);
    await sink.open();
    // Fill the file system: the sink's first write fails with ENOSPC.
    const filler = join(fs.path, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(128 * 1024, 1));
    } catch (error) {
      assert.is((error as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    sink.data('lost on the full disk', 0, 0);
    const failure = await failed;
    assert.match((failure as Error).message, /ENOSPC/);
    // Space is back; a line appended now must not be written after the failed line's bytes.
    unlinkSync(filler);
    sink.data('after the failure', 0, 1);
    assert.is(await sink.flush(true).catch((error: unknown) => error), failure);
    await sink.close().catch(() => {});
    assert.is(statSync(path).size, 0, readFileSync(path, 'latin1'));
  } finally {
    fs.unmount();
  }
});

test('file sink - a line written to a sink that is not open fails it with a LifecycleError that says what to do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stator-file-sink-'));
  const path = join(dir, 'never-opened.jsonl');
  const { sink } = sinkReportingFailure(path);
  sink.data('too early', 0, 0);
  const failure = await sink.flush(true).catch((error: unknown) => error);
  assert.instance(failure, LifecycleError);
  assert.is((failure as LifecycleError).code, 'LIFECYCLE_ERROR');
  assert.match(
    (failure as Error).message,
    `output ${path} is not open: a line was written before open() or after close(); open the sink before`,
  );
  assert.not.ok(existsSync(path), 'nothing was created');
  rmSync(dir, { recursive: true, force: true });
});

test('file sink - open(committedLength) removes what was written after it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stator-file-sink-'));
  try {
    const path = join(dir, 'out.jsonl');
    const first = new FileSink<string>({ name: 'out', path }, jsonCodec<string>(), () => {});
    await first.open();
    first.data('committed', 0, 0);
    const committed = await first.flush(true);
    first.data('after the checkpoint', 0, 1);
    await first.close();
    assert.ok(statSync(path).size > committed);
    const next = new FileSink<string>({ name: 'out', path }, jsonCodec<string>(), () => {});
    await next.open(committed, false);
    next.data('again', 0, 1);
    await next.close();
    assert.is(readFileSync(path, 'utf8'), '"committed"\n"again"\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
