// examples/consume.ts, run as a user would, over a stream as large as a sample run's output, and
// StreamSource.lag, which tells it when it has caught up.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startNatsServer } from '../support/nats-server.ts';
import { waitFor } from '../support/wait-for.ts';
import { connectNats, ensureSubjectStream, openStreamSource, type NatsLink } from '../../runtime/nats/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const encoder = new TextEncoder();

function consume(args: string[]): Promise<{ code: number | null; lines: number; last: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/consume.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NATS_URL: '' },
    });
    let lines = 0;
    let tail = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) lines++;
      tail = (tail + chunk).slice(-200);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, lines, last: tail.trimEnd().split('\n').at(-1) ?? '', stderr }));
  });
}

/**
 * Publishes `count` messages to `subject` (core publishes, flushed in chunks) and waits until the stream holds them.
 */
async function fill(link: NatsLink, stream: string, subject: string, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    link.nc.publish(subject, encoder.encode(`{"word":"w${i % 5000}","count":${i}}`));
    if (i % 10_000 === 0) await link.nc.flush();
  }
  await link.nc.flush();
  const jsm = await link.jetstreamManager();
  await waitFor(
    async () => (await jsm.streams.info(stream)).state.messages >= from + count - 1,
    `${count} messages in ${stream}`,
    { limitMs: 120_000 },
  );
}

test('consume prints every message of a 400k-message stream, as it was at the start, and says how many', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureSubjectStream(await link.jetstreamManager(), 'big.out', { defaultName: 'BIG_OUT' });
  await fill(link, 'BIG_OUT', 'big.out', 1, 400_000);
  // The early stop came from reading "caught up" off the consumer's read-ahead: run it several times.
  for (let run = 0; run < 2; run++) {
    const result = await consume(['--nats', server.url, '--subject', 'big.out']);
    assert.is(result.code, 0, result.stderr);
    assert.is(result.lines, 400_000, `run ${run}: ${result.stderr}`);
    assert.is(result.last, '{"word":"w0","count":400000}');
    assert.match(result.stderr, /400000 messages from BIG_OUT \(big\.out\)/);
  }
});

test('stream source - lag counts the records read ahead but not yet handed out', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureSubjectStream(await link.jetstreamManager(), 'lag.in', { defaultName: 'LAG_IN' });
  await fill(link, 'LAG_IN', 'lag.in', 1, 3000);
  await using source = await openStreamSource(link, {
    stream: 'LAG_IN',
    filterSubject: 'lag.in',
    startSeq: 1,
    maxBatch: 100,
    maxBuffered: 1000,
  });
  let taken = 0;
  while (taken < 3000) {
    const batch = (await source.nextBatch()) ?? [];
    taken += batch.length;
    assert.is(source.lastSeq, taken);
    // Messages after the last one handed out: never fewer than what is still to come.
    assert.ok(source.lag >= 3000 - taken, `lag ${source.lag} after ${taken} of 3000`);
  }
  assert.is(source.lag, 0);
});

test.run();
