// 20 clients race first-write updates of one key while messages for it stream in (embedded mode).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createRuntime, files } from '../../../runtime/index.ts';
import { startHttpServer } from '../../../runtime/http/index.ts';
import { job as wordcount } from '../../../examples/wordcount.ts';
import { waitFor } from '../../support/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'stator-state-race-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const CLIENTS = 20;
const WINS_EACH = 2;
const STEP = 1000;

test('first-write races: exactly the expected writes succeed, none is lost, counts add up with the messages', async () => {
  const logger = createLogger('silent');
  const input = join(dir, 'in.txt');
  writeFileSync(input, 'k\n');
  const http = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
  const runtime = createRuntime({ job: wordcount, transport: files({ input, output: join(dir, 'out.jsonl'), stateDir: join(dir, 'state'), follow: true }), logger, http });
  const running = runtime.run();
  const url = `${http.url}/v1.0/state/wordcount`;
  const read = async (): Promise<{ count: number; etag: string }> => {
    const response = await fetch(`${url}/k`);
    if (response.status !== 200) {
      await response.arrayBuffer();
      return { count: Number.NaN, etag: '' };
    }
    return { count: ((await response.json()) as { count: number }).count, etag: response.headers.get('etag')! };
  };
  const write = async (count: number, etag: string): Promise<number> => {
    const response = await fetch(url, { method: 'POST', body: JSON.stringify([{ key: 'k', value: { count }, etag, options: { concurrency: 'first-write' } }]) });
    await response.arrayBuffer();
    return response.status;
  };
  try {
    await waitFor(async () => (await read()).count === 1, 'the first message');

    // One round, no messages: every client holds the same ETag, exactly one write wins.
    const seen = await Promise.all(Array.from({ length: CLIENTS }, () => read()));
    assert.ok(seen.every((s) => s.etag === seen[0]!.etag));
    const statuses = await Promise.all(seen.map((s) => write(s.count + STEP, s.etag)));
    assert.is(statuses.filter((s) => s === 204).length, 1, statuses.join(','));
    assert.is(statuses.filter((s) => s === 409).length, CLIENTS - 1);
    let messages = 1;
    let wins = 1;

    // Clients retry until each has won WINS_EACH times, while messages for the key stream in.
    let streaming = true;
    const producer = (async () => {
      while (streaming) {
        appendFileSync(input, 'k\n'.repeat(5));
        messages += 5;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let won = 0; won < WINS_EACH; ) {
          const { count, etag } = await read();
          if (etag === '') throw new Error('a strong read failed');
          const status = await write(count + STEP, etag);
          if (status === 204) won++;
          else if (status === 409) conflicts++;
          else throw new Error(`unexpected status ${status}`);
        }
      }),
    );
    streaming = false;
    await producer;
    wins += CLIENTS * WINS_EACH;
    const expected = messages + wins * STEP;
    await waitFor(async () => (await read()).count === expected, `count ${expected} (${messages} messages + ${wins} writes of +${STEP})`, { limitMs: 30_000 });
    assert.ok(conflicts > 0, 'the race produced conflicts');
  } finally {
    await runtime.stop();
    await running;
    await http.close();
  }
});

test.run();
