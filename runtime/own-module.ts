// Loading stator's own modules at run time (a command's modules, the entry points a job imports).
// In the compiled package they load by require(): Node loads an ES module graph that way
// synchronously, without the promise and file-handle round trips of import() for each of its few
// hundred files, and puts it in the same module map, so a later import() of any of them (the job's
// `import 'stator/runtime'`) gets the same instances. From the TypeScript sources (stator's tests,
// under tsx) they load by import(): Node's require() does not go through tsx's module hooks.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/**
 * Loads the stator module `specifier` (relative to `parentUrl`, named by its source, `./x.ts`) and
 * returns its namespace: by require() when `parentUrl` is a compiled `.js` file (the `.ts` becomes
 * `.js`), by import() when it is a `.ts` source. A graph with a top-level await cannot be required:
 * it is imported instead.
 * @throws what import() throws for that module (a missing module or package, an error thrown while
 * it evaluates), as a rejection.
 */
export async function loadOwnModule<T>(parentUrl: string, specifier: string): Promise<T> {
  if (parentUrl.endsWith('.ts')) return (await import(new URL(specifier, parentUrl).href)) as T;
  const url = new URL(specifier.replace(/\.ts$/, '.js'), parentUrl);
  try {
    return require(fileURLToPath(url)) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ASYNC_MODULE') throw error;
    return (await import(url.href)) as T;
  }
}
