import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// The architecture is the dependency direction coders/ <- src/ <- runtime/: a layer may import only
// from itself and the layers below it. This test reads every import specifier and checks it.
const root = fileURLToPath(new URL('../..', import.meta.url));
const layers = ['coders', 'src', 'runtime'] as const;
type Layer = (typeof layers)[number];
const allowed: Record<Layer, readonly string[]> = {
  coders: ['coders'],
  src: ['coders', 'src'],
  runtime: ['coders', 'src', 'runtime'],
};
const packageAllowed: Record<Layer, RegExp> = {
  // coders/ is a leaf: only node built-ins and the serialization library.
  coders: /^(node:|msgpackr$)/,
  // src/ is the user-facing state API: no transports.
  src: /^(node:|msgpackr$|rxjs($|\/))/,
  runtime: /.*/,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(entry.name) ? [path] : [];
  });
}

export function importSpecifiers(text: string): string[] {
  const found: string[] = [];
  const re =
    /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const match of text.matchAll(re)) found.push((match[1] ?? match[2] ?? match[3])!);
  return found;
}

test('import scanner sees static, type-only, side-effect and dynamic imports', () => {
  const text = `import { a } from './a.ts';\nimport type { B } from "../src/b.ts";\nexport { c } from './c.ts';\nimport './d.ts';\nconst e = await import('./e.ts');`;
  assert.equal(importSpecifiers(text), ['./a.ts', '../src/b.ts', './c.ts', './d.ts', './e.ts']);
});

for (const layer of layers) {
  test(`${layer}/ imports only from ${allowed[layer].join(', ')}`, () => {
    const violations: string[] = [];
    for (const file of sourceFiles(join(root, layer))) {
      for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) {
          const target = relative(root, resolve(dirname(file), spec));
          const top = target.split(sep)[0] ?? '';
          if (!allowed[layer].includes(top)) violations.push(`${relative(root, file)} -> ${spec}`);
        } else if (!packageAllowed[layer].test(spec)) {
          violations.push(`${relative(root, file)} -> ${spec}`);
        }
      }
    }
    assert.equal(violations, []);
  });
}

test.run();
