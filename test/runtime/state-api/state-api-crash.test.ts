// SIGKILL right after acknowledged state API writes (embedded mode): after a restart every
// acknowledged write is there exactly once, at its place among the messages.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { killAll, startCli, tempDir } from '../support/cli.ts';
import { httpUrlOf } from '../support/http.ts';
import { waitFor } from '../../support/index.ts';

const tmp = tempDir('state-api-crash');
test.after(() => {
  killAll();
  tmp.remove();
});

const input = join(tmp.dir, 'in.txt');

function start(): { child: ChildProcess; url: Promise<string>; done: Promise<unknown> } {
  // No periodic checkpoint: everything after the start is replayed from the input and the command log.
  const { child, done } = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'out.jsonl'),
    '--state-dir',
    join(tmp.dir, 'state'),
    '--follow',
    '--http',
    '127.0.0.1:0',
    '--checkpoint-interval',
    '600000',
  ]);
  return { child, url: httpUrlOf(child), done };
}

async function count(url: string, key: string): Promise<number | undefined> {
  const response = await fetch(`${url}/v1.0/state/wordcount/${key}`);
  if (response.status === 204) return undefined;
  if (response.status !== 200) return Number.NaN;
  return ((await response.json()) as { count: number }).count;
}

async function save(url: string, body: unknown): Promise<number> {
  const response = await fetch(`${url}/v1.0/state/wordcount`, { method: 'POST', body: JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

async function kill(run: { child: ChildProcess; done: Promise<unknown> }): Promise<void> {
  run.child.kill('SIGKILL');
  await run.done;
}

test('acknowledged writes survive SIGKILL exactly once, in order with the messages around them', async () => {
  writeFileSync(input, 'w\nx\n');
  let run = start();
  let url = await run.url;
  await waitFor(async () => (await count(url, 'x')) === 1, 'the input to be counted');

  // A write, then messages after it: w = 1000 + 5.
  assert.is(await save(url, [{ key: 'w', value: { count: 1000 } }]), 204);
  appendFileSync(input, 'w\n'.repeat(5));
  await waitFor(async () => (await count(url, 'w')) === 1005, 'the messages after the write');
  await kill(run);

  run = start();
  url = await run.url;
  await waitFor(async () => (await count(url, 'w')) === 1005, 'the replay of the input and the write', {
    limitMs: 30_000,
  });

  // SIGKILL right after the acknowledgement.
  const etag = (await fetch(`${url}/v1.0/state/wordcount/x`)).headers.get('etag');
  assert.is(await save(url, [{ key: 'x', value: { count: 2000 }, etag }]), 204);
  await kill(run);

  run = start();
  url = await run.url;
  await waitFor(async () => (await count(url, 'x')) === 2000, 'the acknowledged write after the restart', {
    limitMs: 30_000,
  });
  assert.is(await count(url, 'w'), 1005, 'w applied once');
  // The ETag check replayed to the same answer: the stale ETag is refused now.
  assert.is(await save(url, [{ key: 'x', value: { count: 3 }, etag }]), 409);
  appendFileSync(input, 'x\nw\n');
  await waitFor(async () => (await count(url, 'x')) === 2001, 'a message after the restart');
  assert.is(await count(url, 'w'), 1006);
  run.child.kill('SIGTERM');
  await run.done;

  const commandLog = join(tmp.dir, 'state', 'wordcount', 'state-commands.jsonl');
  const records = (): number => readFileSync(commandLog, 'utf8').split('\n').length - 1;
  // Three commands: the two writes and the refused one (logged before its ETag check, which replays).
  assert.is(records(), 3, 'no checkpoint before the final one to trim through');
  // Writes taken in over the process's own HTTP server log no request id: nobody can send them again.
  for (const line of readFileSync(commandLog, 'utf8')
    .split('\n')
    .filter((l) => l !== ''))
    assert.not.ok('id' in (JSON.parse(line) as object), line);

  // A graceful restart (from the final checkpoint, nothing to replay) has the same state.
  run = start();
  url = await run.url;
  await waitFor(async () => (await count(url, 'x')) === 2001, 'the state after a clean restart', { limitMs: 30_000 });
  assert.is(await count(url, 'w'), 1006);
  // A message, so that the final checkpoint has something to write.
  appendFileSync(input, 'x\n');
  await waitFor(async () => (await count(url, 'x')) === 2002, 'a message after the clean restart');
  run.child.kill('SIGTERM');
  await run.done;
  // Its final checkpoint trimmed the log through the checkpoint it restored, which covers all three.
  assert.is(records(), 0, 'the command log trimmed');
});

test.run();
