import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobModuleError, NoJobExportedError } from '../errors.ts';
import { isJob } from './job.ts';
import type { Job } from './job.ts';
import { loadOwnModule } from '../own-module.ts';

const TYPESCRIPT_MODULE = /\.(?:ts|mts|cts)$/;

let typeScriptLoader: Promise<void> | undefined;

/**
 * Makes `import()` of a TypeScript file work: registers tsx's loader, once, and only when a job module
 * is TypeScript. stator itself is JavaScript (dist/); when it runs from its own TypeScript sources
 * (its tests, under tsx) a loader is already active.
 */
async function enableTypeScript(): Promise<void> {
  if (import.meta.url.endsWith('.ts')) return;
  // stator's own entry points first, which the job imports: once module hooks are registered, every
  // ES module loaded after makes a round trip to the hooks thread (about a second for stator's few
  // hundred modules on 2 busy cores); loaded before, the job's imports find them in the module map.
  for (const entryPoint of ['../index.ts', '../../src/index.ts', '../../coders/index.ts'])
    await loadOwnModule(import.meta.url, entryPoint);
  // Both hooks: a .ts file in a package without "type": "module" is CommonJS, loaded through require.
  typeScriptLoader ??= Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).then(([esm, cjs]) => {
    esm.register();
    cjs.register();
  });
  await typeScriptLoader;
}

/**
 * Imports a job module and returns its job: the default export, or the named export `job`.
 * `.ts`, `.mts` and `.cts` modules are loaded through tsx, registered on first use; `.js` and `.mjs`
 * modules load as they are. A module compiled to CommonJS (a `.ts` or `.js` job in a package
 * without `"type": "module"`) loads too: it gets stator by require(), which Node supports for ES
 * modules since 20.19 and 22.12.
 * @throws JobModuleError when the file is missing or fails to load (the message names the cause:
 * the syntax error and its location, a module that is not found, ESM syntax in a CommonJS file);
 * NoJobExportedError when it exports no job.
 */
export async function loadJob(modulePath: string): Promise<Job> {
  const absolute = resolve(modulePath);
  try {
    await stat(absolute);
  } catch {
    throw new JobModuleError(
      modulePath,
      `job module ${modulePath} not found (resolved to ${absolute}); pass the path of a .ts or .js file that exports a job`,
    );
  }
  let exports: Record<string, unknown>;
  try {
    if (TYPESCRIPT_MODULE.test(absolute)) await enableTypeScript();
    exports = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    throw new JobModuleError(modulePath, `job module ${modulePath} failed to load: ${loadFailure(error, absolute)}`, {
      cause: error,
    });
  }
  // A module compiled to CommonJS arrives as { default: module.exports }, its exports one level down.
  const commonJs =
    typeof exports.default === 'object' && exports.default !== null ? (exports.default as Record<string, unknown>) : {};
  for (const candidate of [exports.default, exports.job, commonJs.default, commonJs.job]) {
    if (isJob(candidate)) return candidate;
  }
  throw new NoJobExportedError(modulePath, Object.keys(exports), nearJobHint({ ...commonJs, ...exports }));
}

/**
 * What to do when an export is close to a job: a `defineJob(...)` chain that stops before `.sink(...)`
 * (what it lacks), a task class instead of a job, or a job exported under another name.
 */
function nearJobHint(exports: Record<string, unknown>): string | undefined {
  const entries = Object.entries(exports);
  const misnamed = entries.find(([name, value]) => name !== 'default' && name !== 'job' && isJob(value));
  if (misnamed !== undefined)
    return `${misnamed[0]} is a job: export it as \`export default ${misnamed[0]}\` or \`export const job = ${misnamed[0]}\``;
  for (const name of ['default', 'job']) {
    const value: unknown = exports[name];
    if (
      typeof value === 'function' &&
      typeof (value.prototype as { invoke?: unknown } | undefined)?.invoke === 'function'
    )
      return `${name} is a task class, not a job: export defineJob(...).source(lines()).keyBy(...).process(() => new ${value.name || 'MyTask'}()).sink(json())`;
    if (typeof value !== 'object' || value === null) continue;
    const chain = value as Record<string, unknown>;
    if (typeof chain.sink === 'function')
      return `${name} is a defineJob(...) chain without its sink: end it with .sink(json()) (or text())`;
    if (typeof chain.process === 'function')
      return `${name} is a defineJob(...) chain that ends at keyBy(...): add .process(() => new MyTask()) and .sink(json())`;
    if (typeof chain.source === 'function')
      return `${name} is defineJob(...) alone: add .source(lines()), the steps and .sink(json())`;
  }
  return undefined;
}

/** One line that names the real cause of a failed import. */
function loadFailure(error: unknown, absolute: string): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const lines = error.message.split('\n');
  const firstLine = lines[0] ?? '';
  // tsx (esbuild): "Transform failed with 1 error:\n/path/job.ts:2:10: ERROR: Unexpected ";"".
  if (firstLine.startsWith('Transform failed')) {
    const detail = /^(.*?:\d+:\d+): ERROR: (.*)$/.exec(lines[1] ?? '');
    return detail === null ? lines.slice(0, 2).join(' ') : `syntax error: ${detail[2]} at ${detail[1]}`;
  }
  if (code === 'ERR_REQUIRE_ESM' || code === 'ERR_REQUIRE_CYCLE_MODULE') {
    return `${firstLine} (it was loaded as CommonJS and requires an ES module, which needs Node >= 20.19: upgrade Node, name the job .mts or .mjs, or set "type": "module" in its package.json)`;
  }
  if (error instanceof SyntaxError) {
    const where = syntaxErrorLocation(error);
    // Node reports an import of a name the module does not export as a SyntaxError; the syntax is fine.
    if (/does not provide an export named/.test(firstLine)) return `${firstLine}${where}`;
    if (/Cannot use import statement outside a module|Unexpected token 'export'/.test(error.message)) {
      return `${firstLine}${where} (the file uses ES module syntax but was loaded as CommonJS: name it .mjs or .mts, or set "type": "module" in its package.json)`;
    }
    return `syntax error: ${firstLine}${where || checkedLocation(absolute)}`;
  }
  return firstLine;
}

/**
 * ` at <file>:<line>` from `node --check`: Node 20 keeps an ES module's syntax error location off
 * the error object (it prints it only for an uncaught error). Runs only on this failure path.
 */
function checkedLocation(absolute: string): string {
  if (!/\.(?:js|mjs|cjs)$/.test(absolute)) return '';
  // Loaded on this failure path only.
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const check = spawnSync(process.execPath, ['--check', absolute], { encoding: 'utf8', timeout: 10_000 });
  const match = /^(?:file:\/\/)?(\/[^\n]+?):(\d+)\n/.exec(check.stderr ?? '');
  return match === null ? '' : ` at ${match[1]}:${match[2]}`;
}

/** ` at <file>:<line>` for a SyntaxError, from its stack (Node puts the location on the stack's first line). */
function syntaxErrorLocation(error: SyntaxError): string {
  const match = /^(?:file:\/\/)?(\/[^\n:]+):(\d+)(?::(\d+))?\n/.exec(error.stack ?? '');
  if (match === null || error.message.includes(match[1]!)) return '';
  return ` at ${match[1]}:${match[2]}${match[3] === undefined ? '' : `:${match[3]}`}`;
}
