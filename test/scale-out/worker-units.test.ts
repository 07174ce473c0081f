// One worker running every unit of a job in one process: the keyed exchange through JetStream, each
// unit's own checkpoints, restart after a graceful stop, and outputs per key equal to an embedded run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats, type NatsLink } from '../../runtime/nats/index.ts';
import { openWorkerRuntime } from '../../runtime/nats/open-worker.ts';
import { nats } from '../../runtime/transport.ts';
import { createLogger } from '../../runtime/log.ts';
import { job as wordcount } from '../../examples/wordcount.ts';
import { produce, readOutputs, referenceOutputs, streamMessages, text } from '../nats/wordcount-support.ts';
import { waitForProgress } from '../support/wait-for.ts';

/** Each word's counts in output order. */
function perWord(outputs: readonly string[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const line of outputs) {
    const { word, count } = JSON.parse(line) as { word: string; count: number };
    map.set(word, [...(map.get(word) ?? []), count]);
  }
  return map;
}

async function runWorkerUntil(url: string, link: NatsLink, outputs: number): Promise<void> {
  const logs: string[] = [];
  const logger = createLogger('info', {
    write: (line: string) => logs.push(line) && true,
  } as unknown as NodeJS.WritableStream);
  const prepared = await openWorkerRuntime({
    split: true,
    job: wordcount,
    transport: nats({ servers: url }),
    logger,
    checkpointIntervalMs: 200,
    maxRetries: undefined,
    http: undefined,
  });
  const run = prepared.runtime.run();
  try {
    await waitForProgress(
      async () => (await streamMessages(link, 'WORDCOUNT_OUT')) >= outputs,
      async () => (await streamMessages(link, 'WORDCOUNT_OUT')) + logs.length,
      `${outputs} outputs (log: ${logs.slice(-5).join('')})`,
    );
    await prepared.runtime.stop();
    await run;
  } finally {
    await prepared.runtime.stop();
    await run.catch(() => undefined);
    await prepared.close();
  }
}

test('a worker owning every unit counts each word once, in order per word, across a graceful restart', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(3000);
  const reference = await referenceOutputs(lines);
  await produce(link, lines.slice(0, 1500));
  await runWorkerUntil(server.url, link, reference.filter((_, i) => i < 1500 * 5).length);
  await produce(link, lines.slice(1500), lines.length, 0, 1500);
  await runWorkerUntil(server.url, link, reference.length);
  const actual = await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT'));
  assert.is(actual.length, reference.length);
  assert.equal(perWord(actual), perWord(reference));
});

test.run();
