import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatefulTask, StringUtf8Coder, TimeDomain } from '../../src/index.ts';
import type { Message, ProcessContext, TaskContext, Timer } from '../../src/index.ts';
import { createMemoryCheckpointStore } from '../../src/checkpoint/index.ts';
import {
  createLogger,
  createRuntime,
  defineJob,
  files,
  json,
  LifecycleError,
  lines,
  startHttpServer,
} from '../../runtime/index.ts';
import type { HttpRoutes } from '../../runtime/index.ts';
import type { LifecycleState, RuntimeEvent } from '../../runtime/index.ts';
import { job as wordcount } from '../../examples/wordcount.ts';
import { waitUntil } from './support/cli.ts';
import { outcomeOf } from '../support/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'stator-create-runtime-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger('silent');

function counts(path: string): Record<string, number> {
  const last: Record<string, number> = {};
  for (const line of readFileSync(path, 'utf8').trim().split('\n')) {
    const { word, count } = JSON.parse(line) as { word: string; count: number };
    last[word] = count;
  }
  return last;
}

test('files(): runs a bounded input to its end, reports its lifecycle and events, and a second run restores', async () => {
  const input = join(dir, 'in.txt');
  writeFileSync(input, 'to be or not to be\n');
  const output = join(dir, 'nested', 'out.jsonl');
  const stateDir = join(dir, 'state');
  const runtime = createRuntime({ job: wordcount, transport: files({ input, output, stateDir }), logger });
  const states: LifecycleState[] = [];
  const events: RuntimeEvent['type'][] = [];
  runtime.stateChanges.subscribe((state) => states.push(state));
  runtime.events.subscribe((event) => events.push(event.type));
  const result = await runtime.run();
  assert.is(result.reason, 'completed');
  assert.is(result.messagesRead, 1);
  assert.is(result.restoredCheckpoint, undefined);
  assert.equal(states, ['created', 'restoring', 'running', 'draining', 'stopped']);
  assert.ok(events.includes('restored') && events.includes('checkpoint'), events.join(','));
  assert.equal(counts(output), { to: 2, be: 2, or: 1, not: 1 });

  writeFileSync(input, 'to be or not to be\nto\n');
  const again = await createRuntime({ job: wordcount, transport: files({ input, output, stateDir }), logger }).run();
  assert.ok(again.restoredCheckpoint !== undefined);
  assert.is(again.messagesRead, 1);
  assert.equal(counts(output), { to: 3, be: 2, or: 1, not: 1 });
});

test('files({ store }): checkpoints go to the given store', async () => {
  const input = join(dir, 'store-in.txt');
  writeFileSync(input, 'a b a\n');
  const store = createMemoryCheckpointStore();
  const result = await createRuntime({
    job: wordcount,
    transport: files({ input, output: join(dir, 'store-out.jsonl'), store }),
    logger,
  }).run();
  assert.ok(result.checkpoints >= 1);
  assert.ok((await store.readManifest()) !== undefined);
});

test('an aborted signal stops the job before it starts; checkpoint() before run() is refused', async () => {
  const controller = new AbortController();
  controller.abort();
  const input = join(dir, 'abort-in.txt');
  writeFileSync(input, 'x\n');
  const output = join(dir, 'abort-out.jsonl');
  const runtime = createRuntime({
    job: wordcount,
    transport: files({ input, output, stateDir: join(dir, 'abort-state') }),
    signal: controller.signal,
    logger,
  });
  await runtime.checkpoint().then(
    () => assert.unreachable('checkpoint() before run() resolved'),
    (error: unknown) => assert.instance(error, LifecycleError),
  );
  const result = await runtime.run();
  assert.is(result.reason, 'stopped');
  assert.is(result.messagesRead, 0);
  assert.is(runtime.state, 'stopped');
});

test('a follow run stops when its signal aborts: drains, writes the final checkpoint, run() resolves', async () => {
  const input = join(dir, 'follow-in.txt');
  writeFileSync(input, 'a b\n');
  const output = join(dir, 'follow-out.jsonl');
  const controller = new AbortController();
  const runtime = createRuntime({
    job: wordcount,
    transport: files({ input, output, stateDir: join(dir, 'follow-state'), follow: true }),
    signal: controller.signal,
    logger,
  });
  const running = runtime.run();
  await new Promise<void>((resolve) => {
    const subscription = runtime.stateChanges.subscribe((state) => {
      if (state === 'running') {
        queueMicrotask(() => subscription.unsubscribe());
        resolve();
      }
    });
  });
  controller.abort();
  const result = await running;
  assert.is(result.reason, 'stopped');
  assert.is(runtime.state, 'stopped');
  assert.ok(result.checkpoints >= 1);
});

/** Records open() and close() per partition; the line `boom` sets a timer whose firing fails the run. */
class ClosingTask extends StatefulTask<string, string, string> {
  private readonly boom: Timer = this.timer('boom', TimeDomain.PROCESSING_TIME);

  constructor(private readonly calls: string[]) {
    super();
  }

  override open(ctx: TaskContext): void {
    this.calls.push(`open ${ctx.partition}`);
  }

  override invoke(message: Message<string, string>, ctx: ProcessContext<string, string>): void {
    if (message.value === 'boom') this.boom.offset(1).setRelative();
    else ctx.output(message.value);
  }

  override onTimer(): void {
    throw new Error('the timer broke');
  }

  override close(ctx: TaskContext): void {
    this.calls.push(`close ${ctx.partition}`);
  }
}

/** This process's open files under `dir` (LMDB keeps its environment's data.mdb and lock.mdb open). */
function openFilesUnder(dir: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(join('/proc/self/fd', fd));
      return target.startsWith(dir) ? [target] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Runs a disk-backend job of two ClosingTask partitions until a `boom` line fails it (its timer
 * throws), checking its local stores were open meanwhile and that run() rejected with the timer's
 * error; returns the tasks' open/close calls and the local stores' directory.
 */
async function failingDiskRun(name: string, http?: HttpRoutes): Promise<{ calls: string[]; local: string }> {
  const calls: string[] = [];
  const job = defineJob({ name })
    .source(lines())
    .keyBy((line) => line, StringUtf8Coder.of())
    .process(() => new ClosingTask(calls), { name: 'record', parallelism: 2 })
    .sink(json());
  const input = join(dir, `${name}-in.txt`);
  writeFileSync(input, 'a\nb\n');
  const stateDir = join(dir, `${name}-state`);
  const runtime = createRuntime({
    job,
    transport: files({ input, output: join(dir, `${name}-out.jsonl`), stateDir, follow: true }),
    stateBackend: 'disk',
    ...(http === undefined ? {} : { http }),
    logger,
  });
  const running = outcomeOf(runtime.run(), 'run()');
  await waitUntil(() => runtime.view?.source.messagesRead === 2, 'the first lines');
  const local = join(stateDir, job.name, 'local');
  assert.ok(openFilesUnder(local).length > 0, 'the local stores are open while it runs');
  appendFileSync(input, 'boom\n');
  const failure = await running;
  assert.instance(failure, Error);
  assert.match(String((failure as Error).message) + String((failure as Error).cause), /the timer broke/);
  assert.is(runtime.state, 'failed');
  return { calls, local };
}

test('a run that fails closes every task it opened and, under the disk backend, every local store; it rejects with its error', async () => {
  const { calls, local } = await failingDiskRun('closing');
  assert.equal(calls.sort(), ['close 0', 'close 1', 'open 0', 'open 1']);
  assert.equal(openFilesUnder(local), []);
});

test("a failed run whose resources also fail to close rejects with the run's own error, and closes the local stores all the same", async () => {
  await using server = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
  // The real server, whose routes' removal fails: the state API's close() throws (and the metrics and
  // status endpoints' too).
  const http: HttpRoutes = {
    route: (...args) => {
      const remove = server.route(...args);
      return () => {
        remove();
        throw new Error('the routes would not go');
      };
    },
  };
  const { local } = await failingDiskRun('closing-twice', http);
  assert.equal(openFilesUnder(local), []);
});

test.run();
