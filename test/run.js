// Runs every test file under test/ with uvu over TypeScript (tsx), and fails when none matched:
// uvu itself exits 0 on an empty match, which would turn a broken pattern into a green run.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pattern = /\.test\.ts$/;

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return pattern.test(entry.name) ? [relative(root, path)] : [];
  });
}

const files = walk(join(root, 'test'));
if (files.length === 0) {
  console.error('test/run.js: no test file matched /\\.test\\.ts$/ under test/');
  process.exit(1);
}
const uvu = join(root, 'node_modules', 'uvu', 'bin.js');
const args = ['--import', 'tsx', uvu, 'test', '\\.test\\.ts$', ...process.argv.slice(2)];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
