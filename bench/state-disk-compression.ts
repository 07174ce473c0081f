// Issue 18's question "does compressing the disk backend's stored values pay?", answered on the store
// the disk backend uses: LMDB through lmdb-js, whose only compression is LZ4 per value above a
// threshold (it has no page compression). Not part of `npm test`. For each value size it writes
// `--keys` keys in batches of 1,000 per transaction (as evictions do) and reads them all back in a
// scattered order, with compression off and on (LZ4, threshold 64 bytes), alternating, `--rounds`
// times; it reports the median times and the environment's size on disk. Values are runs of lines of
// the bundled English sample (a BagState<string> of recent lines, say); the 1-byte value stands for a
// counter, which no threshold compresses.
//
//   node --import tsx bench/state-disk-compression.ts [--keys 100000] [--rounds 3]
import { readdirSync, readFileSync, rmSync, statSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { median } from './lib/measure.ts';

const { values } = parseArgs({
  options: { keys: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' } },
});
const keys = Number(values.keys);
const rounds = Number(values.rounds);
if (!Number.isSafeInteger(keys) || keys < 1000 || !Number.isSafeInteger(rounds) || rounds < 1)
  throw new Error('--keys >= 1000 and --rounds >= 1, integers');

const sample = readFileSync(fileURLToPath(new URL('../examples/data/sample.txt', import.meta.url)), 'utf8')
  .split('\n')
  .filter((line) => line.length > 0);
const encoder = new TextEncoder();

/** 200 distinct values of `lines` sample lines each (a counter's single byte for 0). */
function values200(lines: number): Uint8Array[] {
  return Array.from({ length: 200 }, (_, i) =>
    lines === 0
      ? new Uint8Array([i & 0x7f])
      : encoder.encode(Array.from({ length: lines }, (_, k) => sample[(i * 7 + k * 13) % sample.length]).join('\n')),
  );
}

function bytesOnDisk(dir: string): number {
  return readdirSync(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
}

interface Run {
  readonly writeMs: number;
  readonly readMs: number;
  readonly bytes: number;
}

async function once(dir: string, vals: readonly Uint8Array[], compress: boolean): Promise<Run> {
  rmSync(dir, { recursive: true, force: true });
  const db = open<Uint8Array, Uint8Array>({
    path: dir,
    encoding: 'binary',
    keyEncoding: 'binary',
    compression: compress ? { threshold: 64 } : false,
    noSync: true,
    noMetaSync: true,
  });
  const key = (i: number): Uint8Array => encoder.encode(`user-${i}`);
  let start = performance.now();
  for (let batch = 0; batch < keys; batch += 1000) {
    db.transactionSync(() => {
      for (let i = batch; i < Math.min(keys, batch + 1000); i++) db.putSync(key(i), vals[i % vals.length]!);
    });
  }
  const writeMs = performance.now() - start;
  start = performance.now();
  let read = 0;
  for (let i = 0; i < keys; i++) read += db.getBinary(key((i * 7919) % keys))!.length;
  const readMs = performance.now() - start;
  if (read === 0) throw new Error('nothing read back');
  await db.close();
  const bytes = bytesOnDisk(dir);
  rmSync(dir, { recursive: true, force: true });
  return { writeMs, readMs, bytes };
}

const root = mkdtempSync(join(tmpdir(), 'stator-compression-'));
try {
  for (const lines of [0, 3, 12, 40]) {
    const vals = values200(lines);
    const off: Run[] = [];
    const on: Run[] = [];
    for (let r = 0; r < rounds; r++) {
      off.push(await once(join(root, 'off'), vals, false));
      on.push(await once(join(root, 'on'), vals, true));
    }
    const summary = (runs: Run[]) => ({
      writeMs: Math.round(median(runs.map((r) => r.writeMs))),
      readMs: Math.round(median(runs.map((r) => r.readMs))),
      mib: Math.round((runs[0]!.bytes / 2 ** 20) * 10) / 10,
    });
    const a = summary(off);
    const b = summary(on);
    console.log(
      JSON.stringify({
        valueBytes: Math.round(vals.reduce((s, v) => s + v.length, 0) / vals.length),
        keys,
        off: a,
        lz4: b,
        diskRatio: Math.round((b.mib / a.mib) * 100) / 100,
        writeSlowdown: Math.round((b.writeMs / a.writeMs) * 10) / 10,
        readSlowdown: Math.round((b.readMs / a.readMs) * 10) / 10,
      }),
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
