// Shared by the multi-worker tests: workers as real `stator run --scale-out` processes against a
// 3-node cluster, with R3 streams and buckets, a short lease TTL, and the exactly-once verdict.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { ensureSubjectStream, subjectStreamName, type NatsLink } from '../../runtime/nats/index.ts';
import { readGroupStatus } from '../../runtime/group/index.ts';
import { readOutputs, streamMessages, waitFor, waitForAllOutputs, type JobProcess } from '../nats/wordcount-support.ts';
import { assertSamePerKey } from './per-key.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The lease TTL of the test workers: a killed worker's units move after about this long. */
export const LEASE_TTL_MS = 5000;

/** A worker of test/scale-out/wordcount4.ts: `stator run --scale-out` against `urls`. */
export function startWorker(urls: string, replicas = 3, extra: readonly string[] = []): JobProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'runtime/cli/main.ts',
      'run',
      'test/scale-out/wordcount4.ts',
      '--nats',
      urls,
      '--scale-out',
      '--replicas',
      String(replicas),
      '--lease-ttl',
      String(LEASE_TTL_MS),
      '--checkpoint-interval',
      '300',
      ...extra,
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NATS_URL: '' } },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => stderr, exited };
}

/** Creates wordcount.in as an R`replicas` stream before the producer does (it would make an R1). */
export async function createInputStream(link: NatsLink, replicas: number): Promise<void> {
  await ensureSubjectStream(await link.jetstreamManager(), 'wordcount.in', {
    defaultName: subjectStreamName('wordcount.in'),
    replicas,
  });
}

/** Every worker's log, for a failure message. */
/**
 * Units each worker holds, by the wordcount group's leases (matched on the worker id's pid suffix);
 * -1 each while the status cannot be read (a read failing on a busy cluster is no answer yet: the
 * caller asks again).
 */
export async function leasesOf(link: NatsLink, workers: readonly JobProcess[]): Promise<number[]> {
  const status = await readGroupStatus(link.nc, 'wordcount').catch(() => undefined);
  return workers.map((worker) =>
    status === undefined
      ? -1
      : status.units.filter((unit) => unit.owner?.endsWith(`-${worker.child.pid}`) === true).length,
  );
}

export function logsOf(workers: readonly JobProcess[]): string {
  return workers.map((w, i) => `--- worker ${i} (pid ${w.child.pid}) ---\n${w.stderr().slice(-3000)}`).join('\n');
}

/** SIGKILLs whatever still runs (a failed test must not leave workers behind). */
export async function killAll(workers: readonly JobProcess[]): Promise<void> {
  for (const worker of workers)
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await Promise.all(workers.map((worker) => worker.exited));
}

/**
 * Waits until the output stream holds more than `before` outputs, or all `total` of them: once the
 * job has caught up with its input there is no progress left to see (on a quiet machine it can catch
 * up before a test's next step), and that is not a failure. Rejects with the workers' logs.
 */
export async function waitForMoreOutputs(
  link: NatsLink,
  before: number,
  total: number,
  what: string,
  workers: readonly JobProcess[],
): Promise<void> {
  await waitFor(async () => {
    const stored = await streamMessages(link, 'WORDCOUNT_OUT');
    return stored > before || stored >= total;
  }, what).catch(async (error: unknown) => {
    const stored = await streamMessages(link, 'WORDCOUNT_OUT');
    throw new Error(`${(error as Error).message} (${stored} of ${total} outputs stored)\n${logsOf(workers)}`);
  });
}

/**
 * Waits until the output stream holds `count` outputs (while the workers' logs keep growing), then
 * stops every worker with SIGTERM, each handing its units over or writing their final checkpoints:
 * each must exit 0.
 */
export async function finishGracefully(link: NatsLink, count: number, workers: readonly JobProcess[]): Promise<void> {
  await waitForAllOutputs(
    link,
    count,
    () => workers.reduce((sum, w) => sum + w.stderr().length, 0),
    () => workers.some((w) => w.child.exitCode !== null),
  ).catch(async (error: unknown) => {
    const stored = await streamMessages(link, 'WORDCOUNT_OUT');
    throw new Error(`${(error as Error).message} (${stored} of ${count} outputs stored)\n${logsOf(workers)}`);
  });
  for (const worker of workers) assert.is(worker.child.exitCode, null, logsOf(workers));
  await stopWorkers(workers);
}

/** Stops `workers` with SIGTERM once each has joined the group; each must exit 0. */
export async function stopWorkers(workers: readonly JobProcess[], context = workers): Promise<void> {
  // A worker restarted late may still be loading when the outputs are complete: SIGTERM before its
  // handler is installed would kill it outright. Stop each once it has joined the group.
  await waitFor(() => workers.every((w) => /joined the group/.test(w.stderr())), 'every worker joined').catch(
    (error: unknown) => {
      throw new Error(`${(error as Error).message}\n${logsOf(context)}`);
    },
  );
  for (const worker of workers) worker.child.kill('SIGTERM');
  for (const worker of workers) assert.is((await worker.exited).code, 0, logsOf(context));
}

/**
 * The verdict of the wordcount tests: the output stream holds, per word, the reference run's counts,
 * each once and in order (with `anyOrder`, compared as sets: see assertSamePerKey).
 */
export async function assertWordCountsOnce(
  link: NatsLink,
  reference: readonly string[],
  context: string,
  anyOrder = false,
): Promise<void> {
  const actual = await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT'));
  assertSamePerKey(actual, reference, (line) => (JSON.parse(line) as { word: string }).word, context, anyOrder);
}
