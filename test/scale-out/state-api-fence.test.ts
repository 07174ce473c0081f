// Strong reads in a scaled-out worker are answered only while the worker's hold on its units is
// confirmed: a worker that stalled past 2/3 of its lease TTL may already have lost a unit to another
// worker (which may have changed its keys), and a read queued behind the stall runs before the
// worker's own fence timer does. One worker in this process, its HTTP server, one partition.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StatefulTask, StateTags, StringUtf8Coder, VarLongNumberCoder } from '../../src/index.ts';
import type { Message, ProcessContext } from '../../src/index.ts';
import { createLogger, defineJob, json, lines, startHttpServer } from '../../runtime/index.ts';
import { connectNats } from '../../runtime/nats/index.ts';
import { openWorkerRuntime } from '../../runtime/nats/open-worker.ts';
import { jobSubjects } from '../../runtime/nats/run-nats-job.ts';
import type { WorkerRuntime } from '../../runtime/nats/worker-runtime.ts';
import { nats } from '../../runtime/transport.ts';
import { startNatsServer, waitFor } from '../support/index.ts';

const LEASE_TTL_MS = 2_000;
/** Longer than the 2/3 of the TTL after which a worker no longer counts as holding its units. */
const STALL_MS = Math.ceil((LEASE_TTL_MS * 2) / 3) + 400;

/** The first turn of the message "stall" waits for `release`, then blocks the event loop for STALL_MS. */
const stall: { started?: () => void; release?: Promise<void>; done?: boolean } = {};

class StallingCount extends StatefulTask<string, { word: string; count: number }, string> {
  private static readonly COUNT = StateTags.value('count', VarLongNumberCoder.of());
  private readonly count = this.state(StallingCount.COUNT);

  override async invoke(
    message: Message<string, string>,
    ctx: ProcessContext<{ word: string; count: number }, string>,
  ): Promise<void> {
    if (message.value === 'stall' && stall.done !== true) {
      // Once: the worker restores its unit after it fenced itself, and replays this message.
      stall.done = true;
      stall.started?.();
      await stall.release;
      const until = performance.now() + STALL_MS;
      while (performance.now() < until) {
        // A stall: nothing else runs (no heartbeat, no timer) until it ends.
      }
    }
    const count = (this.count.read() ?? 0) + 1;
    this.count.write(count);
    ctx.output({ word: message.key, count });
  }
}

const job = defineJob({ name: 'fence' })
  .source(lines())
  .keyBy((word) => word, StringUtf8Coder.of())
  .process(() => new StallingCount(), { name: 'count', parallelism: 1 })
  .sink(json<{ word: string; count: number }>());

test('a strong read queued behind a stall past the lease is refused (503), not answered from state the worker may have lost', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const logger = createLogger(process.env.STATOR_TEST_TRACE === '1' ? 'debug' : 'silent');
  await using http = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
  const prepared = await openWorkerRuntime({
    job,
    transport: nats({ servers: server.url }),
    logger,
    checkpointIntervalMs: 200,
    maxRetries: undefined,
    http,
    leaseTtlMs: LEASE_TTL_MS,
  });
  const runtime = prepared.runtime as WorkerRuntime;
  const run = runtime.run();
  const url = `${http.url}/v1.0/state/fence/stall`;
  const get = async (): Promise<{ status: number; body: string }> => {
    const response = await fetch(url);
    return { status: response.status, body: await response.text() };
  };
  try {
    await waitFor(async () => (await get()).status === 204, 'the worker to answer strong reads');
    let release!: () => void;
    stall.release = new Promise((resolve) => (release = resolve));
    const started = new Promise<void>((resolve) => (stall.started = resolve));
    link.nc.publish(jobSubjects(job).input, new TextEncoder().encode('stall'));
    await started;
    const depth = (): number =>
      runtime.view?.stages.find((stage) => stage.name === 'count')?.partitions[0]?.mailboxDepth ?? 0;
    const before = depth();
    const read = get();
    // The read waits in the partition's mailbox behind the stalled turn.
    await waitFor(() => depth() > before, 'the strong read to be queued behind the stalled turn');
    release();
    const refused = await read;
    assert.is(refused.status, 503, refused.body);
    assert.match(refused.body, /not confirmed/);
    // The worker fences itself, rejoins once its heartbeats are acknowledged again, and answers.
    await waitFor(
      async () => {
        const answer = await get();
        return answer.status === 200 && (JSON.parse(answer.body) as { count: number }).count === 1;
      },
      'a strong read after the worker rejoined',
      { limitMs: 30_000 },
    );
  } finally {
    await runtime.stop();
    await run.catch(() => undefined);
    await prepared.close();
  }
});

test.run();
