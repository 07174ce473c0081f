// Embedded-mode throughput: a keyed count stage (wordcount, parallelism 2) over a file of one word
// per line, checkpoints every second to a file store (fsync on), output JSON lines to a file.
// Baseline, same process: a bare loop reading the same file and counting words in a Map (no
// actors, no state API, no checkpoints, no output), i.e. the ceiling of this machine.
//
//   node --import tsx bench/embedded.ts [--messages 3000000] [--keys 10000]
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createFileCheckpointStore } from '../runtime/checkpoint/index.ts';
import { createEmbeddedRuntime, createLogger } from '../runtime/index.ts';
import { job } from '../examples/wordcount.ts';
import type { Metric, MetricResult } from './lib/types.ts';

/** One word per line, `keys` distinct words in a fixed pseudo-random order (the same file every time). */
export function writeInput(path: string, messages: number, keys: number): void {
  const words: string[] = [];
  for (let i = 0; i < keys; i++) words.push(`w${(i * 2654435761) >>> 0}`);
  const lines: string[] = new Array<string>(messages);
  let x = 12345;
  for (let i = 0; i < messages; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    lines[i] = words[x % keys]!;
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

async function runOnce(
  dir: string,
  input: string,
  checkpointIntervalMs: number,
): Promise<{ seconds: number; messages: number; checkpoints: number }> {
  const stateDir = join(dir, `state-${Date.now()}`);
  const store = createFileCheckpointStore({ stateDir, job: job.name });
  const runtime = createEmbeddedRuntime({
    job,
    input,
    output: join(dir, 'out.jsonl'),
    store,
    checkpointIntervalMs,
    logger: createLogger('warn'),
  });
  const started = process.hrtime.bigint();
  const result = await runtime.run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  rmSync(stateDir, { recursive: true, force: true });
  return { seconds, messages: result.messagesRead, checkpoints: result.checkpoints };
}

function baseline(input: string): number {
  const started = process.hrtime.bigint();
  const text = readFileSync(input, 'utf8');
  const counts = new Map<string, number>();
  let start = 0;
  let messages = 0;
  for (;;) {
    const end = text.indexOf('\n', start);
    if (end === -1) break;
    const word = text.slice(start, end);
    counts.set(word, (counts.get(word) ?? 0) + 1);
    messages++;
    start = end + 1;
  }
  return messages / (Number(process.hrtime.bigint() - started) / 1e9);
}

export const embeddedMetric: Metric = {
  name: 'embedded keyed count',
  description: 'wordcount (keyed count, parallelism 2) in embedded mode, checkpoints every second',
  goal: { field: 'value', op: '>=', target: 300_000 },
  async run(ctx): Promise<MetricResult> {
    const messages = ctx.quick ? 1_000_000 : 3_000_000;
    return measure(messages, 10_000, ctx.quick ? 1 : 3, ctx.progress);
  },
};

async function measure(
  messages: number,
  keys: number,
  repetitions: number,
  progress: (f: number) => void = () => {},
): Promise<MetricResult> {
  const dir = mkdtempSync(join(tmpdir(), 'stator-bench-embedded-'));
  try {
    const input = join(dir, 'in.txt');
    writeInput(input, messages, keys);
    const rates: number[] = [];
    const baselines: number[] = [];
    let checkpoints = 0;
    for (let i = 0; i < repetitions; i++) {
      const run = await runOnce(dir, input, 1000);
      rates.push(run.messages / run.seconds);
      checkpoints = run.checkpoints;
      baselines.push(baseline(input));
      progress((i + 1) / repetitions);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const value = median(rates);
    const base = median(baselines);
    return {
      value: Math.round(value),
      unit: 'msg/s',
      baseline: Math.round(base),
      ratio: value / base,
      note: `${messages} messages, ${keys} keys, parallelism 2, ${checkpoints} checkpoints in the last run; baseline: bare read + Map count`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { messages: { type: 'string' }, keys: { type: 'string' }, repetitions: { type: 'string' } },
  });
  const result = await measure(
    Number(values.messages ?? 3_000_000),
    Number(values.keys ?? 10_000),
    Number(values.repetitions ?? 1),
  );
  console.log(JSON.stringify(result));
}
