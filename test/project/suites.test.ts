import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// uvu passes silently when a suite is declared but never run, so every test file must call .run().
const root = fileURLToPath(new URL('../..', import.meta.url));

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

test('every test file calls .run()', () => {
  const files = testFiles(join(root, 'test'));
  assert.ok(files.length > 0, 'no test files found');
  const silent = files.filter((file) => !/\.run\(\)/.test(readFileSync(file, 'utf8')));
  assert.equal(
    silent.map((file) => relative(root, file)),
    [],
  );
});

test.run();
