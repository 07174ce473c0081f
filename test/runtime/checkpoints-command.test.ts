import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats, ensureSubjectStream } from '../../runtime/nats/index.ts';
import { killAll, runCli, startCli, tempDir, waitForOutput } from './support/cli.ts';

const tmp = tempDir('checkpoints');
test.after(() => {
  killAll();
  tmp.remove();
});

const input = join(tmp.dir, 'in.txt');
const state = join(tmp.dir, 'state');
writeFileSync(input, 'one two two\n');

test('checkpoints list and inspect show what a run committed', async () => {
  const run = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'out.jsonl'),
    '--state-dir',
    state,
  ]);
  assert.is(run.code, 0, run.stderr);
  const list = await runCli(['checkpoints', 'list', '--job', 'wordcount', '--state-dir', state, '--json']);
  assert.is(list.code, 0, list.stderr);
  const infos = JSON.parse(list.stdout) as Array<{ id: number; changedKeys: number }>;
  assert.is(infos.length, 1);
  assert.is(infos[0]!.changedKeys, 2);
  const inspect = await runCli(['checkpoints', 'inspect', 'examples/wordcount.ts', '--state-dir', state, '--json']);
  assert.is(inspect.code, 0, inspect.stderr);
  const detail = JSON.parse(inspect.stdout) as {
    inputs: Record<string, number>;
    sinks: Record<string, string>;
    partitions: unknown[];
  };
  // The last processed position (the newline of the last line), and the state API's command log's (no writes).
  assert.equal(detail.inputs, { in: 11, 'state-commands': 0 });
  assert.is(
    detail.sinks.out,
    String('{"word":"one","count":1}\n{"word":"two","count":1}\n{"word":"two","count":2}\n'.length),
  );
  assert.is(detail.partitions.length, 2);
  const notKept = await runCli(['checkpoints', 'inspect', 'examples/wordcount.ts', '42', '--state-dir', state]);
  assert.is(notKept.code, 2, 'an id that is not retained is a bad argument, not unusable checkpoints');
  assert.match(notKept.stderr, /checkpoint 42 is not retained \(retained: 1\)/);
});

test('checkpoints clear is refused while the job runs, and works once it stopped', async () => {
  const running = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'out2.jsonl'),
    '--state-dir',
    join(tmp.dir, 'state2'),
    '--follow',
  ]);
  await waitForOutput(running.child, 'starting from the beginning');
  const refused = await runCli(['checkpoints', 'clear', '--job', 'wordcount', '--state-dir', join(tmp.dir, 'state2')]);
  assert.is(refused.code, 5, refused.stderr);
  running.child.kill('SIGTERM');
  assert.is((await running.done).code, 0);
  const cleared = await runCli(['checkpoints', 'clear', '--job', 'wordcount', '--state-dir', join(tmp.dir, 'state2')]);
  assert.is(cleared.code, 0, cleared.stderr);
  const list = await runCli(['checkpoints', 'list', '--job', 'wordcount', '--state-dir', join(tmp.dir, 'state2')]);
  assert.match(list.stdout, /no checkpoints/);
});

test('checkpoints without an action or a job is exit code 2', async () => {
  assert.is((await runCli(['checkpoints'])).code, 2);
  assert.is((await runCli(['checkpoints', 'list'])).code, 2);
  const help = await runCli(['checkpoints', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /inspect/);
});

test('checkpoints inspect with an id that is not a number, or a stray argument, says what to pass (exit 2)', async () => {
  const state = ['--state-dir', join(tmp.dir, 'stray')];
  const notAnId = await runCli(['checkpoints', 'inspect', 'latest', '--job', 'wordcount', ...state]);
  assert.is(notAnId.code, 2, notAnId.stderr);
  assert.match(notAnId.stderr, /inspect takes a checkpoint id \(a number, as checkpoints list shows\), got "latest"/);
  const stray = await runCli(['checkpoints', 'list', 'extra', '--job', 'wordcount', ...state]);
  assert.is(stray.code, 2, stray.stderr);
  assert.match(stray.stderr, /list: unexpected argument "extra"; name the job once, with --job <name> or its module/);
});

test('with --nats, checkpoints lists the checkpoints a NATS-mode run wrote to JetStream', async () => {
  const server = await startNatsServer();
  try {
    // A job that read nothing writes no checkpoint: give it one line.
    {
      await using link = await connectNats({ nats: server.url });
      await ensureSubjectStream(await link.jetstreamManager(), 'wordcount.in', { defaultName: 'WORDCOUNT_IN' });
      await link.js.publish('wordcount.in', new TextEncoder().encode('a b'));
    }
    const running = startCli(['run', 'examples/wordcount.ts', '--nats', server.url, '--checkpoint-interval', '200']);
    await waitForOutput(running.child, 'checkpoint 1 ');
    running.child.kill('SIGTERM');
    const stopped = await running.done;
    assert.is(stopped.code, 0, stopped.stderr);
    const list = await runCli(['checkpoints', 'list', '--job', 'wordcount', '--json'], {
      env: { NATS_URL: server.url },
    });
    assert.is(list.code, 0, list.stderr);
    assert.is((JSON.parse(list.stdout) as unknown[]).length, 1);
  } finally {
    await server.stop();
  }
});

test('with --nats, checkpoints of a scaled-out job says its checkpoints are per unit (exit 2), not "no checkpoints"', async () => {
  const server = await startNatsServer();
  try {
    const running = startCli(['run', 'examples/wordcount.ts', '--nats', server.url, '--scale-out']);
    await waitForOutput(running.child, 'joined the group');
    running.child.kill('SIGTERM');
    const stopped = await running.done;
    assert.is(stopped.code, 0, stopped.stderr);
    for (const action of ['list', 'inspect', 'clear']) {
      const result = await runCli(['checkpoints', action, '--job', 'wordcount', '--nats', server.url]);
      assert.is(result.code, 2, `${action}: ${result.stdout}${result.stderr}`);
      assert.is(result.stdout, '');
      assert.match(
        result.stderr,
        /^stator: job wordcount runs scaled out \(--scale-out\): its checkpoints are per unit, in the buckets stator-wordcount-<unit>, which stator checkpoints does not reach yet .*stator status --job wordcount shows each unit's last checkpoint\n$/,
      );
    }
  } finally {
    await server.stop();
  }
});

test.run();
