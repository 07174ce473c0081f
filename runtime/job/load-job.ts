import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobModuleError, NoJobExportedError } from '../errors.ts';
import { isJob } from './job.ts';
import type { Job } from './job.ts';

/**
 * Imports a job module and returns its job: the default export, or the named export `job`.
 * TypeScript modules load when tsx is registered (the `stator` bin does that).
 * @throws JobModuleError when the file is missing or fails to load; NoJobExportedError when it
 * exports no job.
 */
export async function loadJob(modulePath: string): Promise<Job> {
  const absolute = resolve(modulePath);
  try {
    await stat(absolute);
  } catch {
    throw new JobModuleError(modulePath, `job module ${modulePath} not found (resolved to ${absolute}); pass the path of a .ts or .js file that exports a job`);
  }
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'ERR_REQUIRE_CYCLE_MODULE' || code === 'ERR_REQUIRE_ESM'
        ? ' (it was loaded as CommonJS: name it .mts, or put it in a package whose package.json has "type": "module")'
        : '';
    throw new JobModuleError(modulePath, `job module ${modulePath} failed to load: ${(error as Error).message ?? String(error)}${hint}`, { cause: error });
  }
  for (const candidate of [exports.default, exports.job]) {
    if (isJob(candidate)) return candidate;
  }
  throw new NoJobExportedError(modulePath, Object.keys(exports));
}
