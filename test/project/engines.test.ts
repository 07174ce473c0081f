import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

// `npm ci` on a supported Node version must install quietly: every locked package accepts the oldest
// Node of each supported line (npm warns EBADENGINE otherwise), and every install script in the tree
// has been reviewed in `allowScripts` (npm lists unreviewed ones after every install).
const root = fileURLToPath(new URL('../..', import.meta.url));
const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  engines: { node: string };
  allowScripts?: Record<string, boolean>;
};
const lock = JSON.parse(readFileSync(`${root}package-lock.json`, 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; hasInstallScript?: boolean }>;
};

/** The oldest version of each line the engines range names (`^20.19.0 || >=22.13.0` → 20.19.0, 22.13.0). */
function supportedFloors(range: string): string[] {
  return range.split('||').map((part) => {
    const floor = semver.minVersion(part.trim());
    if (floor === null) throw new Error(`engines.node part '${part}' has no minimum`);
    return floor.version;
  });
}

function packageName(path: string): string {
  return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

test('the supported Node versions are the lines the README names', () => {
  assert.equal(supportedFloors(manifest.engines.node), ['20.19.0', '22.13.0']);
  const readme = readFileSync(`${root}README.md`, 'utf8');
  assert.match(readme, 'Node.js 20.19+ or 22.13+');
});

test('every locked package accepts the oldest supported Node of each line', () => {
  const floors = supportedFloors(manifest.engines.node);
  const refusing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.engines === undefined || Array.isArray(entry.engines)) continue;
    const wanted = entry.engines.node;
    if (wanted === undefined) continue;
    for (const node of floors) {
      if (!semver.satisfies(node, wanted, { includePrerelease: true })) {
        refusing.push(`${packageName(path)}@${entry.version ?? '?'} wants node ${wanted}, not ${node}`);
      }
    }
  }
  assert.equal(refusing, []);
});

test('every install script in the tree is reviewed in allowScripts', () => {
  const reviewed = manifest.allowScripts ?? {};
  const unreviewed = Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.hasInstallScript === true)
    .map(([path]) => packageName(path))
    .filter((name) => !(name in reviewed));
  assert.equal(unreviewed, []);
});

test('the engines check sees a package that refuses a supported line', () => {
  assert.not.ok(semver.satisfies('20.19.0', '>= 22.x'));
  assert.ok(semver.satisfies('22.12.0', '>= 22.x'));
});

test.run();
