import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./support/restore-large-increment.ts', import.meta.url));

test('tiered backend - restoring increments that hold most of the keys keeps no object per key on the heap', async () => {
  // 400k keys: resolving the increment in a Map of its records (what a heap backend does) takes
  // well over the 96 MiB of heap this process gets.
  const keys = 400_000;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--max-old-space-size=96', '--import', 'tsx', child, String(keys)],
    { timeout: 120_000 },
  );
  const result = JSON.parse(stdout) as { values: (number | null)[] };
  assert.equal(result.values, [1, -100, null, keys - 1, null]);
});

test.run();
