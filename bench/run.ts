// `npm run bench` (full) and `npm run bench -- --quick` (under a minute): runs every metric with its
// baseline in this one process, prints a table, writes bench/results/latest.json and latest.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { renderChart, type ChartRow } from './lib/chart.ts';
import { ProgressBar } from './lib/progress.ts';
import { goalScore, type Metric, type MetricResult } from './lib/types.ts';
import { metrics } from './metrics/index.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(`usage: npm run bench [-- --quick] [-- --only <metric-prefix> ...]

Runs each metric against its baseline in the same process (interleaved repetitions, median,
warm-up excluded) and writes bench/results/latest.json and bench/results/latest.svg.
Metrics: ${metrics.map((m) => m.name).join(', ')}`);
  process.exit(0);
}

const quick = values.quick ?? false;
const only = values.only ?? [];
const selected: Metric[] = metrics.filter((m) => only.length === 0 || only.some((prefix) => m.name.startsWith(prefix)));
if (selected.length === 0) {
  console.error(`bench: no metric matches ${only.join(', ')}; metrics are: ${metrics.map((m) => m.name).join(', ')}`);
  process.exit(2);
}

const bar = new ProgressBar();
const started = Date.now();
const rows: ChartRow[] = [];
const json: Record<string, MetricResult & { goal?: string; goalMet?: boolean }> = {};

console.log(`stator bench (${quick ? 'quick: smaller sizes, fewer repetitions' : 'full'}) on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);

for (const [index, metric] of selected.entries()) {
  const label = `${index + 1}/${selected.length} ${metric.name}`;
  bar.update(label, 0);
  try {
    const result = await metric.run({ quick, progress: (fraction) => bar.update(label, fraction) });
    bar.done();
    rows.push({ name: metric.name, goal: metric.goal, result });
    const goalMet = metric.goal === undefined ? undefined : goalScore(metric.goal, result) >= 1;
    json[metric.name] = {
      ...result,
      ...(metric.goal === undefined ? {} : { goal: `${metric.goal.field} ${metric.goal.op} ${metric.goal.target}`, goalMet: goalMet! }),
    };
    const verdict = goalMet === undefined ? '' : goalMet ? '  goal met' : '  GOAL NOT MET';
    console.log(`  ${metric.name.padEnd(34)} ${fmt(result.value).padStart(12)} ${result.unit.padEnd(10)} baseline ${fmt(result.baseline).padStart(12)} ${(result.baselineUnit ?? result.unit).padEnd(10)} ratio ${fmt(result.ratio).padStart(8)}${verdict}`);
    if (result.note !== undefined) console.log(`  ${''.padEnd(34)} ${result.note}`);
  } catch (err) {
    bar.done();
    const message = err instanceof Error ? err.message : String(err);
    rows.push({ name: metric.name, goal: metric.goal, result: undefined, error: message });
    console.log(`  ${metric.name.padEnd(34)} FAILED: ${message}`);
    process.exitCode = 1;
  }
}

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}latest.json`, JSON.stringify(json, null, 2) + '\n');
writeFileSync(`${dir}latest.svg`, renderChart(rows, `stator bench${quick ? ' (quick)' : ''}, ${new Date().toISOString().slice(0, 10)}`));
console.log(`\nwrote bench/results/latest.json and bench/results/latest.svg in ${((Date.now() - started) / 1000).toFixed(1)} s`);

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toPrecision(3);
}
