// memory.bytesPerKey: heap per ValueState<number> key next to a native Map's, measured in a child
// process with --expose-gc (bench/metrics/memory-probe.ts) for clean numbers. (Supersedes the live
// part of bench/state-memory.ts.)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';

interface Probe {
  readonly keys: number;
  readonly nativeBytes: number;
  readonly liveBytes: number;
  readonly steadyBytes: number;
}

const probePath = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the probe in a child; killed (SIGKILL) when the signal aborts. */
function probe(keys: number, signal: AbortSignal): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', probePath, String(keys)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      killSignal: 'SIGKILL',
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code, killedBy) => {
      if (code !== 0) {
        reject(new Error(`memory probe exited with ${code ?? killedBy}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as Probe);
      } catch (error) {
        reject(new Error(`memory probe printed no result: ${out.slice(0, 200)}`, { cause: error }));
      }
    });
  });
}

export const memoryBytesPerKey: Metric = {
  name: 'memory.bytesPerKey',
  description: 'heap bytes per ValueState<number> key (after a checkpoint capture) vs a native Map<string, number>',
  async run(ctx: BenchContext): Promise<MetricResult> {
    const keys = ctx.quick ? 200_000 : 1_000_000;
    const result = await probe(keys, ctx.signal);
    ctx.progress(1);
    return {
      value: result.steadyBytes,
      unit: 'B/key',
      baseline: result.nativeBytes,
      ratio: result.steadyBytes / result.nativeBytes,
      note:
        `${keys} keys in a child process (--expose-gc, gc before each reading), key strings shared and excluded${ctx.quick ? ' (quick: fewer keys)' : ''}; ` +
        `after a capture; ${result.liveBytes.toFixed(0)} B/key before it (change tracking of every key)`,
      details: { liveBytesPerKey: result.liveBytes },
    };
  },
};
