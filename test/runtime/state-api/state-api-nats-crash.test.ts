// NATS mode: SIGKILL of the job in the middle of state API writes while messages stream in. Every
// acknowledged write is there exactly once after the restarts, every refused one is not, every
// message is counted once. Then another process (the CLI, over NATS) writes and reads strongly
// through the job's partitions, and reads the stopped job's checkpoint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { connectNats } from '../../../runtime/nats/index.ts';
import type { NatsLink } from '../../../runtime/nats/index.ts';
import { killAll, runCli, startCli } from '../support/cli.ts';
import { httpUrlOf } from '../support/http.ts';
import { pickFreePort, startNatsServer, waitFor } from '../../support/index.ts';
import type { NatsServerHandle } from '../../support/index.ts';
import { produce } from '../../nats/wordcount-support.ts';

/** A write adds STEP; messages add 1 each: count = messages + STEP × writes applied, while messages < STEP. */
const STEP = 1_000_000;
const WRITERS = 8;
const KILLS = 3;

let server: NatsServerHandle;
let link: NatsLink;
let port: number;
test.before(async () => {
  server = await startNatsServer();
  link = await connectNats({ nats: server.url });
  port = await pickFreePort();
});
test.after(async () => {
  killAll();
  await link.close();
  await server.stop();
});

interface Run {
  readonly child: ChildProcess;
  readonly url: Promise<string>;
  readonly done: Promise<unknown>;
}

function start(): Run {
  const { child, done } = startCli([
    'run',
    'examples/wordcount.ts',
    '--nats',
    server.url,
    '--http',
    `127.0.0.1:${port}`,
    '--checkpoint-interval',
    '200',
  ]);
  return { child, url: httpUrlOf(child), done };
}

const base = (): string => `http://127.0.0.1:${port}/v1.0/state/wordcount`;

async function readK(): Promise<{ count: number; etag: string } | undefined> {
  try {
    const response = await fetch(`${base()}/k`);
    if (response.status !== 200) {
      await response.arrayBuffer();
      return undefined;
    }
    return { count: ((await response.json()) as { count: number }).count, etag: response.headers.get('etag')! };
  } catch {
    return undefined;
  }
}

/** 'acked' (204), 'refused' (409, or never sent: the server was down), or 'unknown' (sent, no answer). */
async function writeK(count: number, etag: string): Promise<'acked' | 'refused' | 'unknown'> {
  try {
    const response = await fetch(base(), {
      method: 'POST',
      body: JSON.stringify([{ key: 'k', value: { count }, etag }]),
    });
    await response.arrayBuffer();
    if (response.status === 204) return 'acked';
    if (response.status === 409) return 'refused';
    return 'unknown';
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED' ? 'refused' : 'unknown';
  }
}

test('acknowledged writes survive SIGKILLs exactly once, refused ones never apply, messages count once', async () => {
  let published = 0;
  await produce(link, ['k'], 1, 0, published++);
  let run = start();
  await run.url;
  await waitFor(async () => (await readK())?.count === 1, 'the first message', { limitMs: 60_000 });

  let acked = 0;
  let unknown = 0;
  const replays: string[] = [];
  let running = true;
  const producer = (async () => {
    while (running) {
      await produce(link, ['k', 'k'], 2, 0, published);
      published += 2;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const writers = Array.from({ length: WRITERS }, async () => {
    while (running) {
      const seen = await readK();
      if (seen === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const outcome = await writeK(seen.count + STEP, seen.etag);
      if (outcome === 'acked') acked++;
      else if (outcome === 'unknown') unknown++;
    }
  });

  try {
    for (let kill = 0; kill < KILLS; kill++) {
      const ackedBefore = acked;
      await waitFor(
        () => acked >= ackedBefore + 5 + Math.floor(Math.random() * 20),
        'writes acknowledged by this run',
        { limitMs: 60_000 },
      );
      run.child.kill('SIGKILL');
      replays.push(
        ...((await run.done) as { stderr: string }).stderr
          .split('\n')
          .filter((line) => /state API: replaying/.test(line)),
      );
      run = start();
      await run.url;
    }
    const ackedAtRestart = acked;
    await waitFor(() => acked >= ackedAtRestart + 5, 'writes after the last restart', { limitMs: 60_000 });
  } finally {
    running = false;
    await producer;
    await Promise.all(writers);
  }
  await waitFor(async () => ((await readK())?.count ?? 0) % STEP === published, `all ${published} messages counted`, {
    limitMs: 60_000,
  });
  const final = (await readK())!.count;
  const applied = Math.floor(final / STEP);
  assert.ok(
    applied >= acked && applied <= acked + unknown,
    `${applied} writes applied; ${acked} acknowledged, ${unknown} without an answer`,
  );
  assert.ok(replays.length > 0, 'a restart replayed logged writes the checkpoint did not cover');
  // Another process over NATS: a write and a strong read through the job's partition.
  const put = await runCli([
    'state',
    'put',
    'examples/wordcount.ts',
    '--key',
    'cli',
    '--value',
    '{"count":5}',
    '--nats',
    server.url,
  ]);
  assert.is(put.code, 0, put.stderr);
  const get = await runCli([
    'state',
    'get',
    'examples/wordcount.ts',
    '--key',
    'cli',
    '--consistency',
    'strong',
    '--nats',
    server.url,
  ]);
  assert.is(get.code, 0, get.stderr);
  const read = JSON.parse(get.stdout) as { value: unknown; etag: string };
  assert.equal(read.value, { count: 5 });
  const stale = await runCli([
    'state',
    'put',
    'examples/wordcount.ts',
    '--key',
    'k',
    '--value',
    '{"count":0}',
    '--etag',
    read.etag,
    '--nats',
    server.url,
  ]);
  assert.is(stale.code, 1, `a stale ETag: exit 1 (${stale.stderr})`);
  assert.match(stale.stderr, /409: possible etag mismatch/);
  const bad = await runCli([
    'state',
    'put',
    'examples/wordcount.ts',
    '--key',
    'cli',
    '--value',
    '{"count":"many"}',
    '--nats',
    server.url,
  ]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /400: .*tag count: expected an integer/);

  // Each commit trims the log up to what the checkpoint before it recorded (refused writes are logged
  // too). A write changes state, so a checkpoint follows it: write until a commit has trimmed.
  const jsm = await link.jetstreamManager();
  await waitFor(
    async () => {
      const response = await fetch(base(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ key: 'trim', value: { count: 1 } }]),
      });
      assert.is(response.status, 204, await response.text());
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The key's partition's stream (one per partition; 'trim' is in one of the two).
      for (const stream of ['STATOR_WORDCOUNT_STATE_COUNT_P0', 'STATOR_WORDCOUNT_STATE_COUNT_P1']) {
        const { state } = await jsm.streams.info(stream);
        if (state.first_seq > 1 && state.messages < state.last_seq) return true;
      }
      return false;
    },
    'the state stream trimmed behind the checkpoints',
    { limitMs: 30_000 },
  );

  // Stopped: the final checkpoint answers eventual reads, from another process.
  run.child.kill('SIGTERM');
  await run.done;
  const eventual = await runCli(['state', 'get', 'examples/wordcount.ts', '--key', 'k', '--nats', server.url]);
  assert.is(eventual.code, 0, eventual.stderr);
  assert.equal((JSON.parse(eventual.stdout) as { value: unknown }).value, { count: final });
  const gone = await runCli([
    'state',
    'get',
    'examples/wordcount.ts',
    '--key',
    'k',
    '--consistency',
    'strong',
    '--nats',
    server.url,
  ]);
  assert.is(gone.code, 2);
  assert.match(gone.stderr, /503: .*no process runs this partition/, gone.stderr);
});

test.run();
