// Runs every test file under test/ (uvu over TypeScript via tsx), each in its own process, several at a
// time, and fails when none matched or any file failed. One process per file keeps a file's servers,
// timers and globals from leaking into the next one, and lets the slow suites (NATS, crash tests)
// overlap on a machine with more than one core. Each file's output is printed whole when it ends, so
// parallel files do not interleave.
//
//   node test/run.js [pattern]     only files whose path (relative to test/) matches the regex
//   STATOR_TEST_JOBS=N             files at a time (default: available cores, at least 1, at most 4)
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { root, runNode } from './node-child.js';

const testDir = join(root, 'test');
const suffix = /\.test\.ts$/;
const filter = process.argv[2] === undefined ? null : new RegExp(process.argv[2]);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return suffix.test(entry.name) ? [path] : [];
  });
}

// Slow folders first, so the longest files do not start last and leave a core idle at the end.
const slowFirst = ['scale-out/', 'nats/', 'examples/', 'group/', 'runtime/', 'checkpoint/'];
const rank = (file) => {
  const i = slowFirst.findIndex((prefix) => relative(testDir, file).startsWith(prefix));
  return i < 0 ? slowFirst.length : i;
};
const files = walk(testDir)
  .filter((file) => filter === null || filter.test(relative(testDir, file)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error(`test/run.js: no test file matched ${filter ?? suffix} under test/`);
  process.exit(1);
}

const requested = Number(process.env.STATOR_TEST_JOBS);
const jobs =
  Number.isInteger(requested) && requested > 0 ? requested : Math.min(4, Math.max(1, availableParallelism()));

/** Runs one file; resolves with its exit status and uvu's counts (absent when it died before its summary). */
async function runFile(file) {
  const result = await runNode(['--import', 'tsx', file]);
  const count = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(result.output)?.[1] ?? NaN);
  return { file, ...result, total: count('Total'), passed: count('Passed'), skipped: count('Skipped') };
}

const results = [];
let next = 0;
async function worker() {
  while (next < files.length) {
    const result = await runFile(files[next++]);
    results.push(result);
    const name = relative(root, result.file);
    const status = result.code === 0 ? 'ok' : `FAILED (exit ${result.signal ?? result.code})`;
    process.stdout.write(`\n# ${name}: ${status}, ${result.seconds.toFixed(1)} s\n${result.output}`);
  }
}
const started = Date.now();
await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, () => worker()));

const failedFiles = results.filter((r) => r.code !== 0 || !Number.isFinite(r.total));
const sum = (key) => results.reduce((n, r) => n + (Number.isFinite(r[key]) ? r[key] : 0), 0);
const passed = sum('passed');
const skipped = sum('skipped');
// A file that failed without a failed test in its summary (it died, or threw after its tests) counts
// as one failed test, so the closing count never hides it.
const failed = results.reduce((n, r) => {
  // uvu's Total counts the tests that ran, not the skipped ones.
  const inSummary = Number.isFinite(r.total) ? r.total - r.passed : 0;
  return n + (failedFiles.includes(r) ? Math.max(1, inSummary) : inSummary);
}, 0);
console.log(`\n${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s, ${jobs} at a time`);
for (const r of failedFiles)
  console.log(`failed: ${relative(root, r.file)}${Number.isFinite(r.total) ? '' : ' (no uvu summary)'}`);
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failedFiles.length === 0 && failed === 0 ? 0 : 1);
