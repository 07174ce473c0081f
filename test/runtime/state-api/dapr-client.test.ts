// The official Dapr JS client against stator's state API, embedded mode, one process (the cases: dapr-client-suite.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createRuntime, createFileCheckpointStore, files } from '../../../runtime/index.ts';
import type { JobRuntime } from '../../../runtime/index.ts';
import { startHttpServer } from '../../../runtime/http/index.ts';
import type { HttpServer } from '../../../runtime/http/index.ts';
import { CheckpointStateView, StateStores } from '../../../runtime/state-api/index.ts';
import { job as wordcount } from '../../../examples/wordcount.ts';
import { daprClient, daprClientCases, TOKEN, untilCounted } from './dapr-client-suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'stator-dapr-client-'));
const logger = createLogger('silent');
const input = join(dir, 'in.txt');
const stateDir = join(dir, 'state');

let http: HttpServer;
let runtime: JobRuntime;
let running: Promise<unknown>;
let port: string;

test.before(async () => {
  writeFileSync(input, 'the cat the dog\nthe end\n');
  http = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
  port = String(http.address.port);
  runtime = createRuntime({
    job: wordcount,
    transport: files({ input, output: join(dir, 'out.jsonl'), stateDir, follow: true }),
    logger,
    http,
    stateApi: { token: TOKEN },
    checkpointIntervalMs: 60_000,
  });
  running = runtime.run();
  await untilCounted(daprClient(port));
});

test.after(async () => {
  await runtime.stop();
  await running;
  await http.close();
  rmSync(dir, { recursive: true, force: true });
});

daprClientCases(test, () => ({
  port,
  feed: async (lines) => appendFileSync(input, lines),
  checkpoint: () => runtime.checkpoint(),
}));

test('eventual reads of a stopped job, from its checkpoints, by another reader', async () => {
  await daprClient(port).state.save('wordcount', [{ key: 'final', value: { count: 42 } }]);
  await runtime.stop();
  await running;
  const view = new CheckpointStateView({
    job: wordcount,
    store: createFileCheckpointStore({ stateDir, job: 'wordcount' }),
  });
  try {
    const store = new StateStores(wordcount).get('wordcount');
    const read = await view.read(store, ['final', 'the', 'absent']);
    assert.type(read.checkpointId, 'number');
    assert.equal(read.keys[0]!.value, { count: 42 });
    assert.equal(read.keys[1]!.value, { count: 3 });
    assert.equal(read.keys[2], { key: 'absent' });
  } finally {
    await view.close();
  }
  const afterStop = await fetch(`http://127.0.0.1:${port}/v1.0/state/wordcount/the`, {
    headers: { 'dapr-api-token': TOKEN },
  });
  assert.is(afterStop.status, 404, 'the routes leave with the run');
});

test.run();
