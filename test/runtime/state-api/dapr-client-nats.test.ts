// The official Dapr JS client against stator's state API in NATS mode (a real nats-server): the same
// cases as embedded mode (dapr-client-suite.ts), then what NATS mode adds: the writes in the job's
// state stream, and a request forwarded over NATS by another connection that runs no partition.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, createRuntime, nats } from '../../../runtime/index.ts';
import type { JobRuntime } from '../../../runtime/index.ts';
import { startHttpServer } from '../../../runtime/http/index.ts';
import type { HttpServer } from '../../../runtime/http/index.ts';
import { connectNats } from '../../../runtime/nats/index.ts';
import type { NatsLink } from '../../../runtime/nats/index.ts';
import { jobStreamNames } from '../../../runtime/nats/stream-names.ts';
import { ForwardingStateOwners } from '../../../runtime/state-api/forwarding-owners.ts';
import { StateService, StateStores, StateValueError, StateUnavailableError } from '../../../runtime/state-api/index.ts';
import { job as wordcount } from '../../../examples/wordcount.ts';
import { startNatsServer } from '../../support/index.ts';
import type { NatsServerHandle } from '../../support/index.ts';
import { produce } from '../../nats/wordcount-support.ts';
import { daprClient, daprClientCases, TOKEN, untilCounted } from './dapr-client-suite.ts';

const logger = createLogger('silent');

let server: NatsServerHandle;
let link: NatsLink;
let http: HttpServer;
let runtime: JobRuntime;
let running: Promise<unknown>;
let port: string;
let produced = 0;

async function feed(lines: string): Promise<void> {
  const list = lines.split('\n').filter((line) => line.length > 0);
  await produce(link, list, list.length, 0, produced);
  produced += list.length;
}

test.before(async () => {
  server = await startNatsServer();
  link = await connectNats({ nats: server.url });
  await feed('the cat the dog\nthe end\n');
  http = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
  port = String(http.address.port);
  runtime = createRuntime({
    job: wordcount,
    transport: nats({ servers: server.url }),
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
  await running.catch(() => {});
  await http.close();
  await link.close();
  await server.stop();
});

daprClientCases(test, () => ({ port, feed, checkpoint: () => runtime.checkpoint() }));

test('writes are logged in a state stream per stage partition, each request once', async () => {
  const names = jobStreamNames('wordcount');
  const jsm = await link.jetstreamManager();
  const streams: string[] = [];
  for await (const name of jsm.streams.names(names.stateLogSubjects)) streams.push(name);
  assert.equal(streams.sort(), [names.stateLogStream('count', 0), names.stateLogStream('count', 1)]);
  const messages = async (): Promise<number> =>
    (await jsm.streams.info(streams[0]!)).state.messages + (await jsm.streams.info(streams[1]!)).state.messages;
  const before = await messages();
  assert.ok(before > 2, 'the cases above wrote (besides the two claims)');
  await daprClient(port).state.save('wordcount', [{ key: 'logged', value: { count: 1 } }]);
  assert.is(await messages(), before + 1);
});

test('another connection that runs no partition forwards strong reads and writes to the owner, with the same errors', async () => {
  await using gateway = await connectNats({ nats: server.url });
  const stores = new StateStores(wordcount);
  const service = new StateService({
    stores,
    owner: new ForwardingStateOwners({ job: wordcount, link: gateway, names: jobStreamNames('wordcount') }),
    logger,
  });
  const [the] = await service.get('wordcount', ['the'], 'strong');
  const direct = await (
    await fetch(`http://127.0.0.1:${port}/v1.0/state/wordcount/the`, { headers: { 'dapr-api-token': TOKEN } })
  ).json();
  assert.equal(the?.value, direct);
  await service.write('wordcount', [{ op: 'upsert', key: 'forwarded', value: { count: 7 }, firstWrite: true }], false);
  assert.equal(await daprClient(port).state.get('wordcount', 'forwarded'), { count: 7 });
  const [read] = await service.get('wordcount', ['forwarded'], 'strong');
  // A stale ETag through the forwarder: 409 like a local write.
  await service.write('wordcount', [{ op: 'upsert', key: 'forwarded', value: { count: 8 }, firstWrite: true }], false);
  try {
    await service.write(
      'wordcount',
      [{ op: 'upsert', key: 'forwarded', value: { count: 9 }, etag: read!.etag!, firstWrite: true }],
      false,
    );
    assert.unreachable('a stale ETag must be refused');
  } catch (error) {
    assert.is((error as { status?: number }).status, 409);
  }
  try {
    await service.write(
      'wordcount',
      [{ op: 'upsert', key: 'forwarded', value: { count: 'many' }, firstWrite: true }],
      false,
    );
    assert.unreachable('a value the coder rejects must be refused');
  } catch (error) {
    assert.instance(error, StateValueError);
    assert.match((error as Error).message, /tag count: expected an integer/);
  }
  assert.equal(await daprClient(port).state.get('wordcount', 'forwarded'), { count: 8 });
});

test('a request for a job that no process runs is a 503 after the timeout, naming what to do', async () => {
  await using gateway = await connectNats({ nats: server.url });
  const job = { ...wordcount, name: 'nobody' };
  const service = new StateService({
    stores: new StateStores(job),
    owner: new ForwardingStateOwners({ job, link: gateway, names: jobStreamNames('nobody'), timeoutMs: 300 }),
    logger,
  });
  try {
    await service.get('nobody', ['x'], 'strong');
    assert.unreachable('nobody answers');
  } catch (error) {
    assert.instance(error, StateUnavailableError);
    assert.match((error as Error).message, /no process runs this partition of job nobody/);
  }
});

test.run();
