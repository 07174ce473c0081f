// The scale-out metrics (issue 14): examples/wordcount.ts (2 partitions: 3 units) with --scale-out,
// as a user runs it, against today's single-process NATS mode over the same input.
//   scaleout.ratioToSingle    one worker over a 3-node cluster (R3) vs one process on one server
//   scaleout.failoverMs       SIGKILL of a worker -> first output of a partition it owned
//   scaleout.cpuPerMessageUs  CPU per input line summed over 1 and over 3 worker processes
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { job as wordcount } from '../../examples/wordcount.ts';
import { readGroupStatus } from '../../runtime/group/index.ts';
import { createRuntime, nats } from '../../runtime/index.ts';
import {
  connectNats,
  createStreamSink,
  ensureSubjectStream,
  subjectStreamName,
  type NatsLink,
} from '../../runtime/nats/index.ts';
import { startNatsCluster } from '../../test/support/nats-cluster.ts';
import { startNatsServer } from '../../test/support/nats-server.ts';
import { median } from '../lib/measure.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';
import {
  natsWordcount,
  openWordcountServer,
  quietLogger,
  sampleWorkload,
  storedOutputs,
  type WordcountWorkload,
} from './wordcount-runs.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const encoder = new TextEncoder();
const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const LEASE_TTL_MS = 5000;

async function fillInput(
  link: NatsLink,
  workload: WordcountWorkload,
  replicas: number,
  from = 0,
  to = workload.lines.length,
): Promise<void> {
  await ensureSubjectStream(
    await link.jetstreamManager(),
    'wordcount.in',
    { defaultName: subjectStreamName('wordcount.in'), replicas },
    link.features,
  );
  await using sink = createStreamSink(link);
  for (let i = from; i < to; i++) {
    if (sink.congested) await sink.whenUncongested();
    sink.publish({ subject: 'wordcount.in', data: encoder.encode(workload.lines[i]!), msgId: `line:${i}` });
  }
  await sink.flush();
}

async function waitStored(link: NatsLink, count: number, signal: AbortSignal, limitMs = 300_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while ((await storedOutputs(link)) < count) {
    signal.throwIfAborted();
    if (Date.now() > deadline)
      throw new Error(`wordcount stored ${await storedOutputs(link)} of ${count} outputs within ${limitMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One in-process worker (--scale-out) over `urls`: first unit restored → every output stored, lines/s. */
async function workerLinesPerSec(
  urls: string,
  link: NatsLink,
  workload: WordcountWorkload,
  replicas: number,
  signal: AbortSignal,
): Promise<number> {
  const controller = new AbortController();
  const runtime = createRuntime({
    job: wordcount,
    transport: nats({ servers: urls, scaleOut: { replicas } }),
    signal: controller.signal,
    logger: quietLogger,
  });
  let started = 0;
  runtime.events.subscribe((event) => {
    if (event.type === 'restored' && started === 0) started = now();
  });
  const running = runtime.run();
  running.catch(() => {});
  try {
    await waitStored(link, workload.outputs, signal);
  } finally {
    controller.abort();
    await running.catch(() => undefined);
  }
  if ((await storedOutputs(link)) !== workload.outputs)
    throw new Error(`the output stream holds ${await storedOutputs(link)} messages, expected ${workload.outputs}`);
  return (workload.lines.length / (now() - started)) * 1000;
}

export const scaleoutRatioToSingle: Metric = {
  name: 'scaleout.ratioToSingle',
  description:
    'one --scale-out worker over a 3-node cluster (everything R3) vs single-process NATS mode on one server, wordcount lines/s with every output stored',
  goal: { field: 'ratio', op: '>=', target: 0.7 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const workload = sampleWorkload(ctx.quick ? 5 : 40);
    // Baseline: today's NATS mode, one process, one server.
    const single = await (async () => {
      await using server = await openWordcountServer(workload);
      return await natsWordcount(server, ctx.signal);
    })();
    ctx.progress(0.3);
    // Where the cost goes, part 1: the keyed exchange through JetStream, one server, R1.
    const r1 = await (async () => {
      await using server = await startNatsServer();
      await using link = await connectNats({ nats: server.url });
      await fillInput(link, workload, 1);
      return await workerLinesPerSec(server.url, link, workload, 1, ctx.signal);
    })();
    ctx.progress(0.6);
    // Part 2: a 3-node cluster with every stream and bucket replicated 3 times.
    const r3 = await (async () => {
      await using cluster = await startNatsCluster();
      await using link = await connectNats({ nats: cluster.urls });
      await fillInput(link, workload, 3);
      return await workerLinesPerSec(cluster.urls, link, workload, 3, ctx.signal);
    })();
    return {
      value: r3,
      unit: 'lines/s',
      baseline: single.linesPerSec,
      ratio: r3 / single.linesPerSec,
      note:
        `wordcount over examples/data/sample.txt × ${workload.repeat} (${workload.lines.length} lines → ${workload.outputs} outputs), input already in the stream, one run each. ` +
        `Scale-out publishes every word twice (the exchange, then the output) and checkpoints 3 units; ` +
        `one worker on one server, R1: ${Math.round(r1)} lines/s (ratio ${(r1 / single.linesPerSec).toFixed(2)}: the exchange); on the 3-node cluster, R3: the value (replication)`,
      details: { singleLinesPerSec: single.linesPerSec, workerR1LinesPerSec: r1, workerR3LinesPerSec: r3 },
    };
  },
};

interface Worker {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

function startWorker(url: string): Worker {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'runtime/cli/main.ts',
      'run',
      'examples/wordcount.ts',
      '--nats',
      url,
      '--scale-out',
      '--lease-ttl',
      String(LEASE_TTL_MS),
      '--log-level',
      'warn',
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, NATS_URL: '' } },
  );
  return { child, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
}

async function stopAll(workers: readonly Worker[]): Promise<void> {
  for (const worker of workers)
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await Promise.all(workers.map((worker) => worker.exited));
}

/** CPU seconds (user + system) a live process has used, from /proc/<pid>/stat (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const scaleoutFailoverMs: Metric = {
  name: 'scaleout.failoverMs',
  description:
    'SIGKILL of a worker → the first output stored from a partition it owned (2 workers on one host, lease TTL 5 s), vs the lease TTL',
  goal: { field: 'value', op: '<=', target: LEASE_TTL_MS + 2000 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const workload = sampleWorkload(ctx.quick ? 5 : 20);
    await using server = await startNatsServer();
    await using link = await connectNats({ nats: server.url });
    await fillInput(link, workload, 1, 0, 200);
    const workers = [startWorker(server.url), startWorker(server.url)];
    try {
      // Both run, each owns a partition of the stage.
      for (;;) {
        ctx.signal.throwIfAborted();
        const status = await readGroupStatus(link.nc, 'wordcount').catch(() => undefined);
        const owners = new Set(
          status?.units.filter((u) => u.unit.startsWith('count.') && u.owner !== undefined).map((u) => u.owner),
        );
        if (owners.size === 2) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const status = await readGroupStatus(link.nc, 'wordcount');
      const victim = workers[0]!;
      const moved = status.units
        .filter((u) => u.unit.startsWith('count.') && u.owner?.endsWith(`-${victim.child.pid}`) === true)
        .map((u) => u.unit);
      if (moved.length === 0) throw new Error('the first worker owns no partition of the stage');
      // Outputs of the moved partitions carry ids wordcount:out:<unit>:<n>.
      let firstMovedOutput = 0;
      const sub = link.nc.subscribe('wordcount.out', {
        callback: (_error, msg) => {
          const id = msg.headers?.get('Nats-Msg-Id') ?? '';
          if (firstMovedOutput === 0 && moved.some((unit) => id.startsWith(`wordcount:out:${unit}:`)))
            firstMovedOutput = now();
        },
      });
      await link.nc.flush();
      victim.child.kill('SIGKILL');
      await victim.exited;
      const killedAt = now();
      // Input keeps arriving after the kill, so the moved partitions have work.
      await fillInput(link, workload, 1, 200, workload.lines.length);
      const deadline = Date.now() + 120_000;
      while (firstMovedOutput === 0) {
        ctx.signal.throwIfAborted();
        if (Date.now() > deadline) throw new Error(`no output from ${moved.join(', ')} within 120 s of the kill`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      sub.unsubscribe();
      const value = firstMovedOutput - killedAt;
      return {
        value,
        unit: 'ms',
        baseline: LEASE_TTL_MS,
        ratio: value / LEASE_TTL_MS,
        note: `2 workers (CLI processes) on one server, wordcount; moved: ${moved.join(', ')}; baseline: the lease TTL, what a survivor on another host waits before it may take over (on one host it sees the killed process gone at once)`,
      };
    } finally {
      await stopAll(workers);
    }
  },
};

/** Resolves once every unit of wordcount has an owner among `count` live workers. */
async function allOwned(link: NatsLink, count: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`${count} workers did not take every unit within 120 s`);
    const status = await readGroupStatus(link.nc, 'wordcount').catch(() => undefined);
    const owners = new Set(status?.units.map((u) => u.owner));
    if (
      status !== undefined &&
      status.units.length > 0 &&
      !owners.has(undefined) &&
      owners.size === Math.min(count, status.units.length)
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * CPU per input line summed over `count` worker processes: from when every unit runs (startup and
 * restore excluded) until every output is stored, the input published meanwhile by this process.
 */
async function cpuPerLine(count: number, workload: WordcountWorkload, signal: AbortSignal): Promise<number> {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await fillInput(link, workload, 1, 0, 0);
  const workers = Array.from({ length: count }, () => startWorker(server.url));
  try {
    await allOwned(link, count, signal);
    const cpu = (): number => workers.reduce((sum, worker) => sum + cpuSeconds(worker.child.pid!), 0);
    const before = cpu();
    await fillInput(link, workload, 1);
    await waitStored(link, workload.outputs, signal);
    return ((cpu() - before) * 1e6) / workload.lines.length;
  } finally {
    await stopAll(workers);
  }
}

export const scaleoutCpuPerMessageUs: Metric = {
  name: 'scaleout.cpuPerMessageUs',
  description:
    'CPU µs per input line summed over the worker processes: 3 workers vs 1 (the cost of spreading a job, for projecting beyond 2 cores)',
  async run(ctx: BenchContext): Promise<MetricResult> {
    const workload = sampleWorkload(ctx.quick ? 5 : 20);
    const one: number[] = [];
    const three: number[] = [];
    for (let rep = 0; rep < (ctx.quick ? 1 : 2); rep++) {
      one.push(await cpuPerLine(1, workload, ctx.signal));
      three.push(await cpuPerLine(3, workload, ctx.signal));
      ctx.progress((rep + 1) / 2);
    }
    const value = median(three);
    const baseline = median(one);
    return {
      value,
      unit: 'µs/line',
      baseline,
      ratio: value / baseline,
      note:
        `wordcount over examples/data/sample.txt × ${workload.repeat} (${workload.lines.length} lines), CLI workers on one server, ` +
        `CPU (user + system) of the worker processes from every unit running (startup and restore excluded) to the last output stored, ` +
        `lines published meanwhile; median of ${one.length}`,
      details: { oneWorker: one, threeWorkers: three },
    };
  },
};
