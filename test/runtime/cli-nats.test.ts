// `stator run --nats` and `stator checkpoints --nats` as real processes: the nats CLI's connection
// flags reach the connection, failures map to the documented exit codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { waitFor } from '../support/wait-for.ts';
import { connectNats, ensureSubjectStream } from '../../runtime/nats/index.ts';
import { killAll, runCli, startCli, waitForOutput } from './support/cli.ts';

test.after(() => killAll());

test('stator run --help lists the NATS connection flags and exit codes', async () => {
  const help = await runCli(['run', '--help']);
  assert.is(help.code, 0);
  for (const flag of [
    '--user',
    '--password',
    '--token',
    '--creds',
    '--nkey',
    '--tlscert',
    '--tlskey',
    '--tlsca',
    '--max-outage',
  ]) {
    assert.ok(help.stdout.includes(flag), `${flag} missing from --help`);
  }
  assert.match(help.stdout, /75 NATS unreachable longer than --max-outage/);
});

test('--token reaches the connection: with it the run starts, without it exit code 69 and one clear line', async () => {
  await using server = await startNatsServer({ args: ['--auth', 'tok-42'] });
  const running = startCli([
    'run',
    'examples/wordcount.ts',
    '--nats',
    server.url,
    '--token',
    'tok-42',
    '--checkpoint-interval',
    '200',
  ]);
  await waitForOutput(running.child, 'starting from the beginning');
  running.child.kill('SIGTERM');
  const stopped = await running.done;
  assert.is(stopped.code, 0, stopped.stderr);

  const refused = await runCli(['run', 'examples/wordcount.ts', '--nats', server.url]);
  assert.is(refused.code, 69, refused.stderr);
  const lines = refused.stderr.trim().split('\n');
  assert.is(lines.length, 1, refused.stderr);
  assert.match(lines[0]!, /^stator: .*(authori[sz]ation|credentials)/i);

  const wrong = await runCli(['run', 'examples/wordcount.ts', '--nats', server.url, '--user', 'not-the-token']);
  assert.is(wrong.code, 69, 'the nats CLI reads --user without --password as a token');
});

test('--user and --password reach the connection', async () => {
  await using server = await startNatsServer({ args: ['--user', 'app', '--pass', 's3cret'] });
  const running = startCli([
    'run',
    'examples/wordcount.ts',
    '--nats',
    server.url,
    '--user',
    'app',
    '--password',
    's3cret',
  ]);
  await waitForOutput(running.child, 'starting from the beginning');
  running.child.kill('SIGTERM');
  assert.is((await running.done).code, 0);
});

test('NATS options are checked: a bad --max-outage, an unreadable --creds, a NATS flag without --nats are exit code 2', async () => {
  const badOutage = await runCli([
    'run',
    'examples/wordcount.ts',
    '--nats',
    'nats://127.0.0.1:1',
    '--max-outage',
    'forever',
  ]);
  assert.is(badOutage.code, 2, badOutage.stderr);
  assert.match(badOutage.stderr, /--max-outage "forever"/);
  const badCreds = await runCli([
    'run',
    'examples/wordcount.ts',
    '--nats',
    'nats://127.0.0.1:1',
    '--creds',
    '/nonexistent/user.creds',
  ]);
  assert.is(badCreds.code, 2, badCreds.stderr);
  assert.match(badCreds.stderr, /--creds \/nonexistent\/user.creds cannot be read/);
  const embedded = await runCli(['run', 'examples/wordcount.ts', '--input', 'x', '--output', 'y', '--token', 't']);
  assert.is(embedded.code, 2, embedded.stderr);
  assert.match(embedded.stderr, /--token is a NATS option: add --nats/);
});

test('a server that is not running is exit code 69', async () => {
  const server = await startNatsServer({ jetstream: false });
  const url = server.url;
  await server.stop();
  const result = await runCli(['run', 'examples/wordcount.ts', '--nats', url]);
  assert.is(result.code, 69, result.stderr);
});

test('checkpoints --nats reads without creating: a job that never ran has no checkpoints and gets no buckets', async () => {
  await using server = await startNatsServer({ args: ['--auth', 'tok-7'] });
  const env = { NATS_URL: server.url };
  const list = await runCli(['checkpoints', 'list', '--job', 'neverran', '--token', 'tok-7'], { env });
  assert.is(list.code, 0, list.stderr);
  assert.match(list.stdout, /no checkpoints for job neverran/);
  const json = await runCli(['checkpoints', 'list', '--job', 'neverran', '--json', '--token', 'tok-7'], { env });
  assert.equal(JSON.parse(json.stdout), []);
  const inspect = await runCli(['checkpoints', 'inspect', '--job', 'neverran', '--token', 'tok-7'], { env });
  assert.is(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /no checkpoints for job neverran/);
  const clear = await runCli(['checkpoints', 'clear', '--job', 'neverran', '--token', 'tok-7'], { env });
  assert.is(clear.code, 0, clear.stderr);
  assert.match(clear.stdout, /nothing to clear/);
  await using link = await connectNats({ nats: server.url, token: 'tok-7' });
  const streams: string[] = [];
  for await (const info of (await link.jetstreamManager()).streams.list()) streams.push(info.config.name);
  assert.equal(streams, [], 'looking at checkpoints created nothing');
  const refused = await runCli(['checkpoints', 'list', '--job', 'neverran'], { env });
  assert.is(refused.code, 69, refused.stderr);
});

test('checkpoints --nats lists, inspects and clears what a NATS-mode run committed', async () => {
  await using server = await startNatsServer();
  // A job that read nothing writes no checkpoint: give it one line.
  {
    await using link = await connectNats({ nats: server.url });
    await ensureSubjectStream(await link.jetstreamManager(), 'wordcount.in', { defaultName: 'WORDCOUNT_IN' });
    await link.js.publish('wordcount.in', new TextEncoder().encode('a b'));
  }
  const running = startCli(['run', 'examples/wordcount.ts', '--nats', server.url, '--checkpoint-interval', '200']);
  await waitForOutput(running.child, 'checkpoint 1 ');
  running.child.kill('SIGTERM');
  assert.is((await running.done).code, 0);
  const env = { NATS_URL: server.url };
  const list = await runCli(['checkpoints', 'list', 'examples/wordcount.ts', '--json'], { env });
  assert.is(list.code, 0, list.stderr);
  const infos = JSON.parse(list.stdout) as { id: number }[];
  assert.is(infos.length, 1);
  const inspect = await runCli(['checkpoints', 'inspect', String(infos[0]!.id), '--job', 'wordcount', '--json'], {
    env,
  });
  assert.is(inspect.code, 0, inspect.stderr);
  // The input's position, and each partition's position in its state API stream of writes.
  assert.equal((JSON.parse(inspect.stdout) as { inputs: unknown }).inputs, {
    in: 1,
    'state-log.count.p0': 0,
    'state-log.count.p1': 0,
  });
  const clear = await runCli(['checkpoints', 'clear', '--job', 'wordcount'], { env });
  assert.is(clear.code, 0, clear.stderr);
  const after = await runCli(['checkpoints', 'list', '--job', 'wordcount'], { env });
  assert.match(after.stdout, /no checkpoints in jetstream:/);
});

test('stator status after a restart: a unit that restored a checkpoint and wrote none since shows the restored one', async () => {
  await using server = await startNatsServer();
  {
    await using link = await connectNats({ nats: server.url });
    await ensureSubjectStream(await link.jetstreamManager(), 'wordcount.in', { defaultName: 'WORDCOUNT_IN' });
    await link.js.publish('wordcount.in', new TextEncoder().encode('a b'));
  }
  const args = ['run', 'examples/wordcount.ts', '--nats', server.url, '--checkpoint-interval', '200'];
  const first = startCli(args);
  await waitForOutput(first.child, 'checkpoint 1 ');
  first.child.kill('SIGTERM');
  assert.is((await first.done).code, 0);
  // Nothing new to read: the second run writes no checkpoint.
  const second = startCli(args);
  await waitForOutput(second.child, 'restored checkpoint 1 ');
  type Status = { units: { unit: string; progress?: { lastCheckpoint?: { id: number } } }[] };
  let main: Status['units'][number] | undefined;
  await waitFor(async () => {
    const status = await runCli(['status', '--job', 'wordcount', '--nats', server.url, '--json']);
    main = (JSON.parse(status.stdout) as Status).units.find((u) => u.unit === 'main');
    return main?.progress !== undefined;
  }, 'the second run heartbeats its progress');
  assert.is(main?.progress?.lastCheckpoint?.id, 1, JSON.stringify(main));
  second.child.kill('SIGTERM');
  assert.is((await second.done).code, 0);
});

test.run();
