// loadOwnModule: in the compiled package (a `.js` parent) stator's modules load by require(), the
// same instances a later import() gets; from the sources (a `.ts` parent) by import(). The modules
// are written to a temp directory laid out as the package is (`"type": "module"`, `.js` files). The
// compiled cases run in a child with tsx's ES module hooks only, as the compiled bin has none: this
// test process's tsx also hooks require(), which would compile the `.js` files to CommonJS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { loadOwnModule } from '../../runtime/own-module.ts';
import { tempDir } from './support/cli.ts';

const tmp = tempDir('own-module');
test.after(() => tmp.remove());

const ownModule = fileURLToPath(new URL('../../runtime/own-module.ts', import.meta.url));
writeFileSync(join(tmp.dir, 'package.json'), JSON.stringify({ type: 'module' }));
const files: Record<string, string> = {
  'plain.js': "globalThis.ownModuleEvaluated = true;\nexport { value } from './dependency.js';\n",
  'dependency.js': 'export const value = 42;\n',
  'top-level-await.js': "await Promise.resolve();\nexport const value = 'awaited';\n",
  'throws.js': "throw new Error('thrown while evaluating');\n",
  'missing-package.js': "export { value } from 'stator-no-such-package';\n",
  'source.ts': 'export const value: number = 7;\n',
  // Each case as the compiled bin meets it; prints one JSON object.
  'cases.ts': `
import { loadOwnModule } from ${JSON.stringify(ownModule)};
const parent = new URL('./parent.js', import.meta.url).href;
const outcome = async (load: () => Promise<unknown>) => {
  try {
    return { value: ((await load()) as { value: unknown }).value };
  } catch (error) {
    return { code: (error as NodeJS.ErrnoException).code, message: (error as Error).message };
  }
};
const loading = loadOwnModule<{ value: number }>(parent, './plain.ts');
const evaluatedBeforeReturn = (globalThis as { ownModuleEvaluated?: boolean }).ownModuleEvaluated === true;
const plain = await loading;
console.log(JSON.stringify({
  evaluatedBeforeReturn,
  plain: plain.value,
  sameAsImport: (await import('./plain.js')) === plain,
  topLevelAwait: await outcome(() => loadOwnModule(parent, './top-level-await.ts')),
  throws: await outcome(() => loadOwnModule(parent, './throws.ts')),
  missingPackage: await outcome(() => loadOwnModule(parent, './missing-package.ts')),
  missingPackageImported: await outcome(() => import('./missing-package.js')),
}));
`,
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(tmp.dir, name), text);

interface Outcome {
  readonly value?: unknown;
  readonly code?: string;
  readonly message?: string;
}
let compiled: Promise<Record<string, unknown>> | undefined;
/** The cases' results from a child with tsx's ES module hooks only (run once). */
function compiledCases(): Promise<Record<string, unknown>> {
  compiled ??= promisify(execFile)(process.execPath, ['--import', 'tsx/esm', join(tmp.dir, 'cases.ts')], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, NODE_OPTIONS: '' },
  }).then(({ stdout }) => JSON.parse(stdout) as Record<string, unknown>);
  return compiled;
}

test('from a compiled module, loads the .js module by require(): evaluated before the call returns', async () => {
  const cases = await compiledCases();
  assert.is(cases.evaluatedBeforeReturn, true);
  assert.is(cases.plain, 42);
  // The same module instance as import() gets (a job's import of stator finds it loaded).
  assert.is(cases.sameAsImport, true);
});

test('a module whose graph has a top-level await is imported instead', async () => {
  assert.equal((await compiledCases()).topLevelAwait, { value: 'awaited' });
});

test('an error thrown while the module evaluates rejects', async () => {
  const throws = (await compiledCases()).throws as Outcome;
  assert.is(throws.message, 'thrown while evaluating');
});

test('a package the module imports that is not installed rejects as import() does', async () => {
  const cases = await compiledCases();
  const required = cases.missingPackage as Outcome;
  assert.is(required.code, 'ERR_MODULE_NOT_FOUND');
  assert.match(required.message ?? '', /stator-no-such-package/);
  assert.equal(required, cases.missingPackageImported);
});

test('from a source module, imports the .ts module', async () => {
  const loaded = await loadOwnModule<{ value: number }>(pathToFileURL(join(tmp.dir, 'parent.ts')).href, './source.ts');
  assert.is(loaded.value, 7);
});

test.run();
