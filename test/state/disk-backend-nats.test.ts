// The disk backend in NATS mode: `stator run --nats ... --state-backend disk --state-memory <small>`,
// one process and a scaled-out worker, SIGKILLed once and finished, stores exactly the outputs of an
// uninterrupted embedded run (most keys are evicted to the local store on the way).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats, ensureSubjectStream, subjectStreamName } from '../../runtime/nats/index.ts';
import { startNatsServer } from '../support/index.ts';
import {
  assertSameOutputs,
  produce,
  readOutputs,
  referenceOutputs,
  startJob,
  streamMessages,
  text,
  waitFor,
  waitForAllOutputs,
  type JobProcess,
} from '../nats/wordcount-support.ts';

const running = new Set<JobProcess>();
const dirs: string[] = [];
test.after(() => {
  for (const job of running) job.child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Room for a few dozen keys per partition: most of the words live in the local store. */
const DISK = ['--state-backend', 'disk', '--state-memory', '32KiB'];

for (const mode of ['one process', 'a scaled-out worker'] as const) {
  test(`NATS mode, ${mode}: the disk backend, SIGKILLed once and finished, stores every count exactly once`, async () => {
    await using server = await startNatsServer();
    await using link = await connectNats({ nats: server.url });
    const stateDir = mkdtempSync(join(tmpdir(), 'stator-disk-nats-'));
    dirs.push(stateDir);
    const lines = text(3000, 5);
    const reference = await referenceOutputs(lines);
    await ensureSubjectStream(await link.jetstreamManager(), 'wordcount.in', {
      defaultName: subjectStreamName('wordcount.in'),
    });
    await produce(link, lines);
    const args = [...DISK, '--state-dir', stateDir, ...(mode === 'one process' ? [] : ['--scale-out'])];
    const local = join(stateDir, 'wordcount', 'local');

    const first = startJob(server.url, args);
    running.add(first);
    await waitFor(
      async () => (await streamMessages(link, 'WORDCOUNT_OUT')) > 0 && /checkpoint \d+ \(/.test(first.stderr()),
      'outputs and a checkpoint',
    );
    assert.match(first.stderr(), /keyed state: disk backend, working copies in /);
    const copies = mode === 'one process' ? local : join(local, 'workers', `${hostname()}-${first.child.pid}`);
    assert.ok(existsSync(copies), `working copies in ${copies}: ${first.stderr()}`);
    first.child.kill('SIGKILL');
    await first.exited;
    running.delete(first);

    const final = startJob(server.url, args);
    running.add(final);
    await waitForAllOutputs(
      link,
      reference.length,
      () => final.stderr().length,
      () => final.child.exitCode !== null,
    );
    await waitFor(() => /joined the group|running job/.test(final.stderr()), 'the final run to be up');
    final.child.kill('SIGTERM');
    const exit = await final.exited;
    running.delete(final);
    assert.is(exit.code, 0, final.stderr());
    assertSameOutputs(
      await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT')),
      reference,
      false,
      `${mode}: ${final.stderr().slice(-2000)}`,
    );
    if (mode === 'a scaled-out worker') {
      // The killed worker's copies went when the next worker of this host started; the last one's
      // went with its graceful stop.
      const left = existsSync(join(local, 'workers')) ? readdirSync(join(local, 'workers')) : [];
      assert.equal(left, [], 'no working copies left behind');
    }
  });
}

test.run();
