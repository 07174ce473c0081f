// stator as a user's application gets it: the package compiled as `npm run build` compiles it (tsc
// with tsconfig.build.json, its JavaScript only), into a temp directory so the checkout stays as it is, and an
// application beside it whose node_modules/stator is that package. `stator` there is the package's
// bin, dist/runtime/cli/main.js, and a job module imports 'stator', not stator's TypeScript sources.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface CompiledStator {
  /** The application's directory: run `stator` here. */
  readonly appDir: string;
  /** The command line that starts `stator` as the package's bin does (its shebang's Node flags included). */
  readonly command: readonly string[];
  /** The Node flags of the bin's shebang (in `command` too). */
  readonly nodeFlags: readonly string[];
  /** Writes an example job (examples/<name>) into the application, importing 'stator' instead of the sources. */
  writeExample(name: string): string;
}

/** Compiles stator into `dir`/stator and makes an application in `dir`/app that depends on it. */
export async function compileStator(dir: string, signal: AbortSignal): Promise<CompiledStator> {
  const pkg = join(dir, 'stator');
  const appDir = join(dir, 'app');
  mkdirSync(pkg, { recursive: true });
  const tsc = spawn(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      join(pkg, 'dist'),
      // The same JavaScript (less each file's sourceMappingURL comment) in a quarter of the time:
      // the checks and the declarations are the build's, not what a run loads.
      '--noCheck',
      '--declaration',
      'false',
      '--sourceMap',
      'false',
      '--inlineSources',
      'false',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], signal, killSignal: 'SIGKILL' },
  );
  let out = '';
  tsc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  tsc.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const [code] = (await once(tsc, 'close')) as [number | null];
  if (code !== 0) throw new Error(`tsc -p tsconfig.build.json exited with ${code}: ${out.trim().slice(0, 500)}`);
  cpSync(join(root, 'runtime', 'status', 'page'), join(pkg, 'dist', 'runtime', 'status', 'page'), {
    recursive: true,
  });
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  // The package's dependencies, as npm would install them beside it.
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  mkdirSync(join(appDir, 'node_modules'), { recursive: true });
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  symlinkSync(pkg, join(appDir, 'node_modules', 'stator'), 'dir');
  const main = join(pkg, 'dist', 'runtime', 'cli', 'main.js');
  const shebang = /^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(main, 'utf8').split('\n', 1)[0]!);
  if (shebang === null) throw new Error(`${main} does not start with a "#!/usr/bin/env -S node" line`);
  const flags = shebang[1]!
    .trim()
    .split(/\s+/)
    .filter((flag) => flag.length > 0);
  return {
    appDir,
    command: [process.execPath, ...flags, main],
    nodeFlags: flags,
    writeExample(name: string): string {
      const source = readFileSync(join(root, 'examples', name), 'utf8');
      const rewritten = source
        .replaceAll("from '../src/index.ts'", "from 'stator'")
        .replaceAll("from '../runtime/index.ts'", "from 'stator/runtime'");
      if (/from '\.\.\//.test(rewritten))
        throw new Error(`examples/${name} imports a source path besides the two indexes`);
      const path = join(appDir, name);
      writeFileSync(path, rewritten);
      return path;
    },
  };
}
