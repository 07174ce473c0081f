import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, root, runCli, startCli, tempDir } from '../runtime/support/cli.ts';
import { startNatsServer } from '../support/index.ts';
import { waitFor } from '../support/wait-for.ts';
import {
  connectNats,
  ensureSubjectStream,
  openStreamSource,
  subjectStreamName,
  type NatsLink,
} from '../../runtime/nats/index.ts';

const tmp = tempDir('enrich');
test.after(() => {
  killAll();
  tmp.remove();
});

const orders = readFileSync(join(root, 'examples', 'data', 'orders.jsonl'), 'utf8')
  .trim()
  .split('\n');
const cities: Record<string, string | null> = {
  '10115': 'Berlin',
  '80331': 'München',
  '99999': null,
  '50667': 'Köln',
  '01067': 'Dresden',
};

/** What enrich writes for `lines` (each line once, in order): the city and the running count per zip. */
function expected(lines: readonly string[]): string[] {
  const counts = new Map<string, number>();
  return lines.map((line) => {
    const order = JSON.parse(line) as { id: string; zip: string; amount: number };
    const n = (counts.get(order.zip) ?? 0) + 1;
    counts.set(order.zip, n);
    return JSON.stringify({ ...order, city: cities[order.zip], orders: n });
  });
}

const byId = (lines: readonly string[]) => [...lines].sort();
const builds = (log: string) => log.match(/enrich: built the lookup table/g)?.length ?? 0;
const reuses = (log: string) => log.match(/enrich: reusing the lookup table/g)?.length ?? 0;

test('embedded: the first run builds the lookup table once, the second reuses it; every order gets its city', async () => {
  const output = join(tmp.dir, 'out.jsonl');
  const stateDir = join(tmp.dir, 'state');
  const args = ['run', 'examples/enrich.ts', '--input', 'examples/data/orders.jsonl', '--output', output];
  const first = await runCli([...args, '--state-dir', stateDir]);
  assert.is(first.code, 0, first.stderr);
  assert.is(builds(first.stderr), 1, first.stderr);
  assert.equal(byId(readFileSync(output, 'utf8').trim().split('\n')), byId(expected(orders)));
  assert.ok(statSync(join(stateDir, 'enrich', 'files', 'lookup', 'zip-codes.json')).isFile());
  const second = await runCli([...args, '--state-dir', stateDir]);
  assert.is(second.code, 0, second.stderr);
  assert.is(builds(second.stderr), 0, second.stderr);
  assert.is(reuses(second.stderr), 2, second.stderr);
});

async function outputs(link: NatsLink): Promise<number> {
  try {
    return (await (await link.jetstreamManager()).streams.info('ENRICH_OUT')).state.messages;
  } catch {
    return 0;
  }
}

async function readOutputs(link: NatsLink, count: number): Promise<string[]> {
  const out: string[] = [];
  await using source = await openStreamSource(link, { stream: 'ENRICH_OUT', filterSubject: 'enrich.out', startSeq: 1 });
  while (out.length < count) for (const r of (await source.nextBatch()) ?? []) out.push(Buffer.from(r.data).toString());
  return out;
}

test('NATS mode: one worker builds the table into the job bucket; a restart and a second worker on another state directory reuse it', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const jsm = await link.jetstreamManager();
  await ensureSubjectStream(jsm, 'enrich.in', { defaultName: subjectStreamName('enrich.in') });
  const publish = async (lines: readonly string[], from: number) => {
    for (const [i, line] of lines.entries()) await link.js.publish('enrich.in', line, { msgID: `order:${from + i}` });
  };
  /** Runs a worker until the output stream holds `count` messages, then stops it (SIGTERM, exit 0). */
  const runWorker = async (stateDir: string, count: number) => {
    const worker = startCli(
      ['run', 'examples/enrich.ts', '--nats', server.url, '--scale-out', '--state-dir', stateDir],
      {},
    );
    let exited = false;
    void worker.done.then(() => (exited = true));
    await waitFor(async () => exited || (await outputs(link)) >= count, `${count} outputs`, { limitMs: 180_000 });
    worker.child.kill('SIGTERM');
    const result = await worker.done;
    assert.is(result.code, 0, result.stderr);
    return result.stderr;
  };
  const dirA = join(tmp.dir, 'worker-a');
  const dirB = join(tmp.dir, 'worker-b');
  const cached = join(dirA, 'enrich', 'files-cache', 'lookup', 'zip-codes.json');

  await publish(orders, 0);
  const first = await runWorker(dirA, orders.length);
  assert.is(builds(first), 1, first);
  assert.match(first, /nats:stator-enrich-files/);
  const inode = statSync(cached).ino;

  // The restart: same state directory, the table is reused and so is its verified local copy.
  await publish(orders.slice(0, 3), orders.length);
  const restart = await runWorker(dirA, orders.length + 3);
  assert.is(builds(restart), 0, restart);
  assert.ok(reuses(restart) >= 1, restart);
  assert.is(statSync(cached).ino, inode, 'the restart downloaded the table again');

  // A second worker elsewhere (another state directory): reuses the table, downloading it once.
  await publish(orders.slice(3), orders.length + 3);
  const second = await runWorker(dirB, orders.length * 2);
  assert.is(builds(second), 0, second);
  assert.ok(reuses(second) >= 1, second);
  assert.is(
    readFileSync(join(dirB, 'enrich', 'files-cache', 'lookup', 'zip-codes.json'), 'utf8'),
    readFileSync(cached, 'utf8'),
  );
  assert.equal(byId(await readOutputs(link, orders.length * 2)), byId(expected([...orders, ...orders])));
});

test.run();
