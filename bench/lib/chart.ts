import { goalScore, type Goal, type MetricResult } from './types.ts';

export interface ChartRow {
  readonly name: string;
  readonly goal: Goal | undefined;
  readonly result: MetricResult | undefined;
  readonly error?: string;
}

const escapeXml = (s: string): string =>
  s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/** 5,195,473 -> 5.2M, 483,906 -> 484k, 15.6 -> 15.6. */
function short(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (abs >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (abs >= 100) return String(Math.round(n));
  return n.toPrecision(3);
}

function describeGoal(goal: Goal): string {
  return `${goal.field} ${goal.op} ${goal.target}`;
}

/**
 * A horizontal bar chart of each metric's distance to its goal, on a log scale centred on the goal
 * line (1 = goal met exactly; right of it is better, whichever the goal's direction). Metrics
 * without a goal show their ratio to the baseline as a grey bar. Plain SVG: GitHub renders it.
 */
export function renderChart(rows: readonly ChartRow[], title: string): string {
  const rowHeight = 28;
  const labelWidth = 250;
  const plotWidth = 420;
  const valueWidth = 360;
  const top = 48;
  const width = labelWidth + plotWidth + valueWidth;
  const height = top + rows.length * rowHeight + 40;
  // log10 scale from 0.01 to 100 (score); the goal line (score 1) sits in the middle.
  const minLog = -2;
  const maxLog = 2;
  const x = (score: number): number => {
    const clamped = Math.max(minLog, Math.min(maxLog, Math.log10(Math.max(score, 1e-9))));
    return labelWidth + ((clamped - minLog) / (maxLog - minLog)) * plotWidth;
  };
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  parts.push(`<text x="12" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  parts.push(
    `<text x="12" y="38" fill="#555">bar = result / goal (log scale); right of the line = goal met. Grey: no goal, ratio to baseline.</text>`,
  );
  for (const tick of [0.01, 0.1, 1, 10, 100]) {
    const tx = x(tick);
    parts.push(
      `<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${top + rows.length * rowHeight}" stroke="${tick === 1 ? '#222' : '#ddd'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`,
    );
    parts.push(
      `<text x="${tx}" y="${top + rows.length * rowHeight + 16}" text-anchor="middle" fill="#555">${tick}x</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    parts.push(`<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escapeXml(row.name)}</text>`);
    if (row.result === undefined) {
      parts.push(`<text x="${labelWidth + 4}" y="${y + 17}" fill="#b00">${escapeXml(row.error ?? 'not run')}</text>`);
      return;
    }
    const score = row.goal === undefined ? row.result.ratio : goalScore(row.goal, row.result);
    const met = row.goal === undefined ? undefined : score >= 1;
    const colour = met === undefined ? '#9aa0a6' : met ? '#2e7d32' : '#c62828';
    const x0 = x(1);
    const x1 = x(score);
    parts.push(
      `<rect x="${Math.min(x0, x1)}" y="${y + 5}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowHeight - 10}" fill="${colour}"/>`,
    );
    const measured = `${short(row.result.value)} ${row.result.unit} vs ${short(row.result.baseline)}`;
    const label =
      row.goal === undefined
        ? `ratio ${row.result.ratio.toPrecision(3)} (${measured})`
        : `${met ? 'met' : 'NOT met'}: ${describeGoal(row.goal)} (${(row.goal.field === 'ratio' ? row.result.ratio : row.result.value).toPrecision(3)}; ${measured})`;
    parts.push(`<text x="${labelWidth + plotWidth + 8}" y="${y + 17}" fill="${colour}">${escapeXml(label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
