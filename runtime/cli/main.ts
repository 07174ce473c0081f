#!/usr/bin/env -S node --max-semi-space-size=64
// The `stator` command: dispatches to the commands, maps errors to one line on stderr (an unexpected
// one, not a StatorError, with its stack after it) and a documented exit code. The package's bin is
// the compiled dist/runtime/cli/main.js, plain JavaScript: tsx is loaded only to import a job module
// written in TypeScript (load-job.ts).
// runtime/cli/bin.js runs this file from the TypeScript sources (stator's own tests and npm start).
//
// --max-semi-space-size=64 (MiB; Node's default is 16): a young generation large enough that what a
// checkpoint allocates (capture buffers, descriptors, I/O) dies young instead of being promoted.
// With 1M keys, the default let the old generation grow ~2 MB/s and forced a major GC of the whole
// keyed state every ~8 s, and a major GC whose concurrent marking gets no spare core stops the loop
// for 100-200 ms; with 64 MiB the old generation grows ~0.2 MB/s (docs/performance.md). The shebang
// applies it when `stator` is run directly (npx stator, node_modules/.bin/stator); `node main.js`
// needs the flag on its own command line. It only sets V8 heap sizing: the JS is the same.
import { readFileSync } from 'node:fs';
import { ExitCode, exitCodeFor, ReportedError } from './exit-codes.ts';
import { redactCredentials } from '../redact.ts';
import { jobCodeStack, unexpectedErrorDetails } from './unexpected-error.ts';
import { mainUsage } from './usage.ts';
import { loadOwnModule } from '../own-module.ts';

/**
 * The version in stator's package.json: the nearest one above this file whose name is stator (this
 * file runs from runtime/cli/ in the sources and from dist/runtime/cli/ in the package).
 */
function statorVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'stator' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: look one folder up
    }
    if (dir.pathname === '/') return 'unknown';
  }
}

/** A command's module, loaded when the command runs. */
function commandModule<T>(specifier: string): Promise<T> {
  return loadOwnModule<T>(import.meta.url, specifier);
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      // Each command's modules load when it runs: `stator --help` loads none of them.
      case 'run':
        return await (await commandModule<typeof import('./run-command.ts')>('./run-command.ts')).runCommand(rest, env);
      case 'checkpoints':
        return await (
          await commandModule<typeof import('./checkpoints-command.ts')>('./checkpoints-command.ts')
        ).checkpointsCommand(rest, env);
      case 'state':
        return await (
          await commandModule<typeof import('./state-command.ts')>('./state-command.ts')
        ).stateCommand(rest, env);
      case 'files':
        return await (
          await commandModule<typeof import('./files-command.ts')>('./files-command.ts')
        ).filesCommand(rest, env);
      case 'status':
        return await (
          await commandModule<typeof import('./status-command.ts')>('./status-command.ts')
        ).statusCommand(rest, env);
      case '--version':
      case '-V':
      case 'version':
        process.stdout.write(`stator ${statorVersion()}\n`);
        return ExitCode.OK;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        (command === undefined ? process.stderr : process.stdout).write(`${mainUsage}\n`);
        return command === undefined ? ExitCode.USAGE : ExitCode.OK;
      default:
        process.stderr.write(
          `stator: unknown command ${JSON.stringify(command)}; commands are run, checkpoints, state, files and status (stator --help)\n`,
        );
        return ExitCode.USAGE;
    }
  } catch (error) {
    if (error instanceof ReportedError) return exitCodeFor(error.reported);
    const code = exitCodeFor(error);
    const message = redactCredentials(error instanceof Error ? error.message : String(error));
    process.stderr.write(`stator: ${message}\n`);
    const details = unexpectedErrorDetails(error);
    const thrownAt = jobCodeStack(error);
    if (details !== undefined)
      process.stderr.write(`stator: an unexpected error (please report it with what follows):\n${details}\n`);
    else if (thrownAt !== undefined) process.stderr.write(`stator: thrown by the job's code:\n${thrownAt}\n`);
    else if (env.STATOR_DEBUG === '1' && error instanceof Error && error.stack !== undefined)
      process.stderr.write(`${error.stack}\n`);
    return code;
  }
}

// Not a top-level await: this module must finish evaluating before the job module loads, so that a
// job compiled to CommonJS (a .ts job in a package without "type": "module") can require() stator
// (an ES module graph still evaluating cannot be required: ERR_REQUIRE_CYCLE_MODULE).
// Exit explicitly: the run is over, and a stray handle (a user's timer) must not keep the process up.
void main(process.argv.slice(2), process.env).then((code) => process.exit(code));
