// ops.metricsOverheadRatio: what operating a job costs it. The workload is bench/embedded.ts's
// wordcount (keyed count, parallelism 2, one word per line, 10k keys, checkpoints every second, fsync
// on) run through createRuntime, as `stator run` does, twice per repetition in this process: with the
// HTTP server and metrics on (a sampled turn timer, /metrics scraped every second and /status.json
// every 2 s, as an open status page does) and with neither (the baseline). Interleaved pairs. The ratio
// compares messages per second of the process's CPU time (all its threads), each pair's own ratio,
// median: on 2 shared cores a run's wall-clock rate follows what else the machine does far more than
// the CPU a message costs (docs/performance.md has both spreads).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { job } from '../../examples/wordcount.ts';
import { createLogger, createProcessRegistry, createRuntime, files, startHttpServer } from '../../runtime/index.ts';
import type { HttpServer } from '../../runtime/index.ts';
import { writeInput } from '../embedded.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';

async function runOnce(
  dir: string,
  input: string,
  http: { server: HttpServer; registry: Registry } | undefined,
): Promise<{ perSecond: number; perCpuSecond: number }> {
  const stateDir = join(dir, `state-${Date.now()}`);
  const output = join(dir, `out-${Date.now()}.jsonl`);
  const runtime = createRuntime({
    job,
    transport: files({ input, output, stateDir }),
    checkpointIntervalMs: 1000,
    logger: createLogger('warn'),
    ...(http === undefined ? {} : { http: http.server, registry: http.registry }),
  });
  // Scrapes as Prometheus (here far more often than its usual 15 s) and an open status page would.
  const scrapers: NodeJS.Timeout[] = [];
  let scrapes = 0;
  if (http !== undefined) {
    const get = (path: string): void => {
      void fetch(`${http.server.url}${path}`).then(
        async (response) => {
          await response.arrayBuffer();
          if (response.ok) scrapes++;
        },
        () => {},
      );
    };
    scrapers.push(
      setInterval(() => get('/metrics'), 1000),
      setInterval(() => get('/status.json'), 2000),
    );
  }
  const started = process.hrtime.bigint();
  const cpuFrom = process.cpuUsage();
  try {
    const result = await runtime.run();
    const cpu = process.cpuUsage(cpuFrom);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (http !== undefined && seconds > 2 && scrapes === 0) throw new Error('the metrics run was never scraped');
    return {
      perSecond: result.messagesRead / seconds,
      perCpuSecond: result.messagesRead / ((cpu.user + cpu.system) / 1e6),
    };
  } finally {
    for (const timer of scrapers) clearInterval(timer);
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(output, { force: true });
    rmSync(`${output}.dead.jsonl`, { force: true });
  }
}

export const opsMetricsOverheadRatio: Metric = {
  name: 'ops.metricsOverheadRatio',
  description: 'embedded wordcount throughput with --http metrics on (scraped every second) / with them off',
  goal: { field: 'ratio', op: '>=', target: 0.95 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const messages = ctx.quick ? 300_000 : 3_000_000;
    const keys = 10_000;
    const repetitions = ctx.quick ? 2 : 5;
    const dir = mkdtempSync(join(tmpdir(), 'stator-bench-ops-'));
    const logger = createLogger('warn');
    const server = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
    const registry = createProcessRegistry();
    try {
      const input = join(dir, 'in.txt');
      writeInput(input, messages, keys);
      const on: { perSecond: number; perCpuSecond: number }[] = [];
      const off: { perSecond: number; perCpuSecond: number }[] = [];
      for (let i = 0; i < repetitions; i++) {
        ctx.signal.throwIfAborted();
        // Alternate which goes first, so warm-up and drift fall on both sides.
        if (i % 2 === 0) {
          off.push(await runOnce(dir, input, undefined));
          on.push(await runOnce(dir, input, { server, registry }));
        } else {
          on.push(await runOnce(dir, input, { server, registry }));
          off.push(await runOnce(dir, input, undefined));
        }
        ctx.progress((i + 1) / repetitions);
      }
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const paired = (pick: (r: { perSecond: number; perCpuSecond: number }) => number): number =>
        median(on.map((r, i) => pick(r) / pick(off[i]!)));
      const cpuRatio = paired((r) => r.perCpuSecond);
      const wallRatio = paired((r) => r.perSecond);
      return {
        value: Math.round(median(on.map((r) => r.perCpuSecond))),
        unit: 'msg/CPU-s',
        baseline: Math.round(median(off.map((r) => r.perCpuSecond))),
        baselineUnit: 'msg/CPU-s',
        ratio: cpuRatio,
        note:
          `wordcount via createRuntime, ${messages} messages, ${keys} keys, parallelism 2, checkpoints every second; ` +
          `metrics on = HTTP server, prom-client registry with default metrics, /metrics scraped every 1 s and /status.json every 2 s; ` +
          `messages per second of the process's CPU time, median of ${repetitions} interleaved pairs' ratios; ` +
          `wall-clock rates ${Math.round(median(on.map((r) => r.perSecond)))} / ${Math.round(median(off.map((r) => r.perSecond)))} msg/s (on / off medians), paired ratio ${wallRatio.toFixed(3)}`,
        details: {
          onPerCpuSecond: on.map((r) => Math.round(r.perCpuSecond)),
          offPerCpuSecond: off.map((r) => Math.round(r.perCpuSecond)),
          onPerSecond: on.map((r) => Math.round(r.perSecond)),
          offPerSecond: off.map((r) => Math.round(r.perSecond)),
          wallRatio,
        },
      };
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
