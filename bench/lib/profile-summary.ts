// Summarizes a V8 CPU profile (`node --cpu-prof` writes *.cpuprofile): the functions with the most
// self time, and the share of each. Used to explain a missed goal in docs/performance.md.
//   node --import tsx bench/lib/profile-summary.ts <file.cpuprofile> [top]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface FrameShare {
  /** `function (file:line)`; file relative to the repository when inside it. */
  readonly frame: string;
  readonly selfMs: number;
  /** Share of all sampled time, 0..1. */
  readonly share: number;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const shown = path.startsWith(root) ? relative(root, path) : path.replace(/^.*node_modules\//, '');
  return `${name} (${shown}:${lineNumber + 1})`;
}

/** Self time per frame (same function and location merged), most first. */
export function summarizeProfile(profile: CpuProfile, top = 15): FrameShare[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const micros = profile.timeDeltas[i] ?? 0;
    if (node === undefined) continue;
    total += micros;
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + micros);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, micros]) => ({ frame, selfMs: micros / 1000, share: total === 0 ? 0 : micros / total }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node --import tsx bench/lib/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const rows = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(process.argv[3] ?? 15));
  for (const row of rows)
    console.log(`${(row.share * 100).toFixed(1).padStart(5)}%  ${row.selfMs.toFixed(0).padStart(7)} ms  ${row.frame}`);
}
