// 20 clients race first-write updates of one key while messages for it stream in: run by each mode's
// test file against a running wordcount whose key "k" has been counted once.
import * as assert from 'uvu/assert';
import { waitFor } from '../../support/index.ts';

const CLIENTS = 20;
const WINS_EACH = 2;
const STEP = 1000;

/**
 * `url`: the job's state store URL (`.../v1.0/state/wordcount`); `feed(n)` adds n messages for "k"
 * to the job's input. Exactly the expected writes succeed, none is lost, counts add up.
 */
export async function raceFirstWrites(url: string, feed: (messages: number) => Promise<void>): Promise<void> {
  const read = async (): Promise<{ count: number; etag: string }> => {
    const response = await fetch(`${url}/k`);
    if (response.status !== 200) {
      await response.arrayBuffer();
      return { count: Number.NaN, etag: '' };
    }
    return { count: ((await response.json()) as { count: number }).count, etag: response.headers.get('etag')! };
  };
  const write = async (count: number, etag: string): Promise<number> => {
    const response = await fetch(url, {
      method: 'POST',
      body: JSON.stringify([{ key: 'k', value: { count }, etag, options: { concurrency: 'first-write' } }]),
    });
    await response.arrayBuffer();
    return response.status;
  };
  await waitFor(async () => (await read()).count === 1, 'the first message', { limitMs: 60_000 });

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
      await feed(5);
      messages += 5;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  let conflicts = 0;
  try {
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let won = 0; won < WINS_EACH;) {
          const { count, etag } = await read();
          if (etag === '') throw new Error('a strong read failed');
          const status = await write(count + STEP, etag);
          if (status === 204) won++;
          else if (status === 409) conflicts++;
          else throw new Error(`unexpected status ${status}`);
        }
      }),
    );
  } finally {
    streaming = false;
    await producer;
  }
  wins += CLIENTS * WINS_EACH;
  const expected = messages + wins * STEP;
  await waitFor(
    async () => (await read()).count === expected,
    `count ${expected} (${messages} messages + ${wins} writes of +${STEP})`,
    { limitMs: 30_000 },
  );
  assert.ok(conflicts > 0, 'the race produced conflicts');
}
