// Prints a results JSON (bench/results/latest.json) as the Markdown table docs/performance.md shows.
//   node --import tsx bench/lib/results-table.ts [bench/results/latest.json]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MetricResult } from './types.ts';

type Row = MetricResult & { goal?: string; goalMet?: boolean };

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return String(Number(n.toPrecision(3)));
}

export function resultsTable(results: Readonly<Record<string, Row>>): string {
  const lines = ['| metric | stator | baseline | ratio | goal | met |', '|---|---:|---:|---:|---|---|'];
  for (const [name, r] of Object.entries(results)) {
    const met = r.goalMet === undefined ? '–' : r.goalMet ? 'yes' : '**no**';
    lines.push(
      `| \`${name}\` | ${fmt(r.value)} ${r.unit} | ${fmt(r.baseline)} ${r.baselineUnit ?? r.unit} | ${fmt(r.ratio)} | ${r.goal ?? '–'} | ${met} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? fileURLToPath(new URL('../results/latest.json', import.meta.url));
  console.log(resultsTable(JSON.parse(readFileSync(file, 'utf8')) as Record<string, Row>));
}
