// examples/produce.ts, run as a user would: a child process fed on stdin.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats, openStreamSource } from '../../runtime/nats/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function produce(args: string[], stdin: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/produce.ts', ...args], {
      cwd: root,
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, NATS_URL: '' },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
    child.stdin.end(stdin);
  });
}

test('produce publishes each stdin line to the subject, creating its stream; a re-run with --id-prefix adds nothing', async () => {
  await using server = await startNatsServer();
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${i} the quick brown fox`);
  const args = ['--nats', server.url, '--subject', 'wordcount.in', '--window', '64', '--id-prefix', 'sample'];
  const first = await produce(args, lines.join('\n') + '\n');
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stderr, /created stream WORDCOUNT_IN for wordcount\.in/);
  assert.match(first.stderr, /published 1000 messages to wordcount\.in \(0 duplicates dropped\)/);
  const again = await produce(args, lines.join('\n') + '\n');
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /using stream WORDCOUNT_IN/);
  assert.match(again.stderr, /1000 duplicates dropped/);

  await using link = await connectNats({ nats: server.url });
  assert.is((await (await link.jetstreamManager()).streams.info('WORDCOUNT_IN')).state.messages, 1000);
  await using source = await openStreamSource(link, {
    stream: 'WORDCOUNT_IN',
    filterSubject: 'wordcount.in',
    startSeq: 1,
  });
  const read: string[] = [];
  const decoder = new TextDecoder();
  while (read.length < 1000) for (const r of (await source.nextBatch()) ?? []) read.push(decoder.decode(r.data));
  assert.equal(read, lines);
});

test('produce reports an unreachable server and exits non-zero', async () => {
  const server = await startNatsServer({ jetstream: false });
  const url = server.url;
  await server.stop();
  const result = await produce(['--nats', url, '--subject', 'x.in'], 'a\n');
  assert.is(result.code, 69);
  assert.match(result.stderr, /cannot connect to NATS/);
});

test.run();
