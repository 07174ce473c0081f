// `npm run bench` (full, several minutes) and `npm run bench -- --quick` (under a minute): runs every
// metric with its baseline in this one process, prints a table, writes the results as JSON and an SVG
// chart under bench/results/:
//   full run of every metric  -> latest.json, latest.svg        (committed; docs/performance.md embeds it)
//   --quick                   -> latest-quick.json, .svg        (git-ignored: never overwrites the full result)
//   --only <prefix> (full)    -> latest-partial.json, .svg      (git-ignored)
//   --out <name>              -> <name>.json, <name>.svg        (overrides the above)
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { renderChart, type ChartRow } from './lib/chart.ts';
import { ProgressBar } from './lib/progress.ts';
import { runMetric } from './lib/run-metric.ts';
import { goalScore, type Metric, type MetricResult } from './lib/types.ts';
import { metrics } from './metrics/index.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    out: { type: 'string' },
    'time-limit': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(`usage: npm run bench [-- --quick] [-- --only <metric-prefix> ...] [-- --out <name>] [-- --time-limit <s>]

Runs each metric against its baseline in the same process (interleaved repetitions, median,
warm-up excluded) and writes bench/results/<name>.json and <name>.svg: latest (full run of every
metric), latest-quick (--quick: smaller sizes, under a minute), latest-partial (--only).
A metric running longer than --time-limit seconds (default 30 quick, 600 full unless the metric sets
its own, as state.disk.keysPerGiB's 40 minutes) is aborted and FAILED.
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
const outName = values.out ?? (quick ? 'latest-quick' : only.length > 0 ? 'latest-partial' : 'latest');
if (!/^[\w.-]+$/.test(outName)) {
  console.error(`bench: --out ${outName}: use a plain file name (letters, digits, - _ .), no directory`);
  process.exit(2);
}
// A metric that overruns is aborted (it cleans up) and reported FAILED; the others still run.
const timeLimitGiven = values['time-limit'] !== undefined;
const metricTimeLimitMs = timeLimitGiven ? Number(values['time-limit']) * 1000 : quick ? 30_000 : 600_000;
if (!(metricTimeLimitMs > 0)) {
  console.error(
    `bench: --time-limit ${values['time-limit']}: give the seconds a metric may run, e.g. --time-limit 120`,
  );
  process.exit(2);
}
const cleanupGraceMs = 15_000;

const bar = new ProgressBar();
const started = Date.now();
const rows: ChartRow[] = [];
const json: Record<string, MetricResult & { goal?: string; goalMet?: boolean }> = {};
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;

console.log(
  `stator bench, ${quick ? 'QUICK (smaller sizes and fewer repetitions than the full run: see each note; not comparable to the full numbers)' : 'full'} on ${machine}`,
);

for (const [index, metric] of selected.entries()) {
  const label = `${index + 1}/${selected.length} ${metric.name}`;
  bar.update(label, 0);
  const metricStarted = Date.now();
  try {
    const result = await runMetric(metric, {
      quick,
      timeLimitMs: (!timeLimitGiven && !quick ? metric.fullTimeLimitMs : undefined) ?? metricTimeLimitMs,
      cleanupGraceMs,
      progress: (fraction) => bar.update(label, fraction),
    });
    bar.done();
    rows.push({ name: metric.name, goal: metric.goal, result });
    const goalMet = metric.goal === undefined ? undefined : goalScore(metric.goal, result) >= 1;
    json[metric.name] = {
      ...result,
      ...(metric.goal === undefined
        ? {}
        : { goal: `${metric.goal.field} ${metric.goal.op} ${metric.goal.target}`, goalMet: goalMet! }),
    };
    const verdict = goalMet === undefined ? '' : goalMet ? '  goal met' : '  GOAL NOT MET';
    const goalText =
      metric.goal === undefined ? '' : ` (goal ${metric.goal.field} ${metric.goal.op} ${metric.goal.target})`;
    console.log(
      `  ${metric.name.padEnd(34)} ${fmt(result.value).padStart(12)} ${result.unit.padEnd(9)} baseline ${fmt(result.baseline).padStart(12)} ${(result.baselineUnit ?? result.unit).padEnd(9)} ratio ${fmt(result.ratio).padStart(7)}${verdict}${goalText}`,
    );
    if (result.note !== undefined)
      console.log(`  ${''.padEnd(34)} ${result.note} [${((Date.now() - metricStarted) / 1000).toFixed(1)} s]`);
  } catch (err) {
    bar.done();
    const message = err instanceof Error ? err.message : String(err);
    rows.push({ name: metric.name, goal: metric.goal, result: undefined, error: message });
    console.log(`  ${metric.name.padEnd(34)} FAILED: ${message}`);
    if (err instanceof Error && err.stack !== undefined && process.env.BENCH_DEBUG !== undefined)
      console.log(err.stack);
    process.exitCode = 1;
  }
}

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}${outName}.json`, JSON.stringify(json, roundNumbers, 2) + '\n');
writeFileSync(
  `${dir}${outName}.svg`,
  renderChart(
    rows,
    `stator bench${quick ? ' (quick)' : ''}, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, Node ${process.version}`,
  ),
);
console.log(
  `\nwrote bench/results/${outName}.json and ${outName}.svg in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);

/** JSON replacer: integers above 1000, four significant digits below (the noise is larger anyway). */
function roundNumbers(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || !Number.isFinite(value)) return value;
  return Math.abs(value) >= 1000 ? Math.round(value) : Number(value.toPrecision(4));
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toPrecision(3);
}
