// The state API of a scaled-out job (issue 16 on issue 14's workers): two `stator run --scale-out`
// workers with --http on one nats-server. The official Dapr client against worker A reads and
// first-writes a key whose partition worker B runs (forwarded over NATS); writes acknowledged by B's
// unit survive B's SIGKILL exactly once once A has taken the unit over; and with no worker running,
// `stator state get --nats` reads the key from the unit's checkpoints.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DaprClient, LogLevel, StateConcurrencyEnum, StateConsistencyEnum } from '@dapr/dapr';
import { connectNats, type NatsLink } from '../../runtime/nats/index.ts';
import { readGroupStatus } from '../../runtime/group/index.ts';
import { StateStores } from '../../runtime/state-api/index.ts';
import { keyPartition } from '../../runtime/state-api/forwarding-owners.ts';
import { pickFreePort, startNatsServer, waitFor, type NatsServerHandle } from '../support/index.ts';
import { runCli } from '../runtime/support/cli.ts';
import { httpUrlOf } from '../runtime/support/http.ts';
import { produce, type JobProcess } from '../nats/wordcount-support.ts';
import { job } from './wordcount4.ts';
import { killAll, LEASE_TTL_MS, logsOf, startWorker } from './support.ts';

/** A write adds STEP; messages add 1 each. */
const STEP = 1_000_000;

let server: NatsServerHandle;
let link: NatsLink;
const workers: JobProcess[] = [];
test.before(async () => {
  server = await startNatsServer();
  link = await connectNats({ nats: server.url });
});
test.after(async () => {
  await killAll(workers);
  await link.close();
  await server.stop();
});

async function startHttpWorker(): Promise<{ worker: JobProcess; port: string }> {
  const port = String(await pickFreePort());
  const worker = startWorker(server.url, 1, ['--http', `127.0.0.1:${port}`]);
  workers.push(worker);
  await httpUrlOf(worker.child);
  return { worker, port };
}

function client(port: string): DaprClient {
  return new DaprClient({ daprHost: '127.0.0.1', daprPort: port, logger: { level: LogLevel.Error } });
}

function statusOf(error: unknown): number | undefined {
  if (error === undefined) return undefined;
  return (JSON.parse((error as Error).message) as { status: number }).status;
}

/** The worker (by pid) holding each count unit's lease. */
async function unitOwners(): Promise<Map<string, number | undefined>> {
  const status = await readGroupStatus(link.nc, 'wordcount');
  const pids = new Map(status.workers.map((w) => [w.id, w.pid]));
  return new Map(status.units.map((u) => [u.unit, u.owner === undefined ? undefined : pids.get(u.owner)]));
}

/** A word whose partition's unit `pid` runs. */
function wordOwnedBy(owners: ReadonlyMap<string, number | undefined>, pid: number): string {
  const store = new StateStores(job).get('wordcount');
  for (let i = 0; ; i++) {
    const word = `w${i}`;
    if (owners.get(`count.p${keyPartition(job, store, word)}`) === pid) return word;
  }
}

async function countOf(dapr: DaprClient, key: string, consistency = 'strong'): Promise<number | undefined> {
  const value = (await dapr.state.get('wordcount', key, {
    consistency:
      consistency === 'strong' ? StateConsistencyEnum.CONSISTENCY_STRONG : StateConsistencyEnum.CONSISTENCY_EVENTUAL,
  })) as { count?: number } | '';
  return value === '' ? undefined : value.count;
}

async function etagOf(dapr: DaprClient, key: string): Promise<string> {
  const [item] = (await dapr.state.getBulk('wordcount', [key])) as { etag?: string }[];
  return item!.etag!;
}

test('worker A answers for B: a strong read and first-write-wins; B SIGKILLed after acknowledged writes: each is there once after failover; a stopped job is read from its units', async () => {
  const a = await startHttpWorker();
  const b = await startHttpWorker();
  const pidB = b.worker.child.pid!;
  // Both workers run count units (4 stage units and one source unit between two workers).
  let owners = new Map<string, number | undefined>();
  await waitFor(
    async () => {
      owners = await unitOwners();
      const held = [...owners].filter(([unit]) => unit.startsWith('count.'));
      return (
        held.every(([, pid]) => pid !== undefined) &&
        held.some(([, pid]) => pid === pidB) &&
        held.some(([, pid]) => pid === a.worker.child.pid)
      );
    },
    'both workers to run count units',
    { limitMs: 60_000 },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n${logsOf(workers)}`);
  });
  const word = wordOwnedBy(owners, pidB);
  const dapr = client(a.port);
  let messages = 3;
  await produce(link, [`${word} x`, word, `y ${word}`]);
  await waitFor(async () => (await countOf(dapr, word)) === messages, `${word} counted through worker A`, {
    limitMs: 60_000,
  });
  assert.is(
    (await unitOwners()).get(`count.p${keyPartition(job, new StateStores(job).get('wordcount'), word)}`),
    pidB,
    "B still runs the key's unit",
  );

  // First-write-wins through A for B's key.
  const stale = await etagOf(dapr, word);
  assert.equal(await dapr.state.save('wordcount', [{ key: word, value: { count: STEP + messages }, etag: stale }]), {});
  const refused = await dapr.state.save('wordcount', [
    {
      key: word,
      value: { count: 5 },
      etag: stale,
      options: {
        concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE,
        consistency: StateConsistencyEnum.CONSISTENCY_STRONG,
      },
    },
  ]);
  assert.is(statusOf(refused.error), 409, 'a stale ETag is refused');
  assert.is(await countOf(dapr, word), STEP + messages, 'read-your-writes through A');

  // Acknowledged first-writes, then B dies at once.
  let writes = 1;
  for (let i = 0; i < 5; i++) {
    const etag = await etagOf(dapr, word);
    const current = (await countOf(dapr, word))!;
    const saved = await dapr.state.save('wordcount', [
      {
        key: word,
        value: { count: current + STEP },
        etag,
        options: {
          concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE,
          consistency: StateConsistencyEnum.CONSISTENCY_STRONG,
        },
      },
    ]);
    assert.is(saved.error, undefined, `write ${i} acknowledged`);
    writes++;
  }
  b.worker.child.kill('SIGKILL');
  await b.worker.exited;
  await produce(link, [word, word], 2, 0, 3);
  messages += 2;
  await waitFor(
    async () => (await countOf(dapr, word).catch(() => undefined)) === writes * STEP + messages,
    'A to run the moved unit with every write once',
    {
      limitMs: 5 * LEASE_TTL_MS + 60_000,
    },
  ).catch(async (error: unknown) => {
    throw new Error(
      `${(error as Error).message}: count ${await countOf(dapr, word).catch((e: unknown) => String(e))}\n${logsOf(workers)}`,
    );
  });

  // No worker runs: the key as the unit's last checkpoint holds it.
  a.worker.child.kill('SIGTERM');
  const exit = await a.worker.exited;
  assert.is(exit.code, 0, logsOf(workers));
  const read = await runCli(['state', 'get', 'test/scale-out/wordcount4.ts', '--key', word, '--nats', server.url]);
  assert.is(read.code, 0, read.stderr);
  const printed = JSON.parse(read.stdout) as { key: string; value: { count: number }; etag: string };
  assert.equal(printed.value, { count: writes * STEP + messages });
  assert.ok(printed.etag.length > 0);
});

test.run();
