// Entry point of the `stator` command (see bin.js): dispatches to the commands, maps errors to one
// line on stderr and a documented exit code.
import { checkpointsCommand } from './checkpoints-command.ts';
import { ExitCode, exitCodeFor } from './exit-codes.ts';
import { runCommand } from './run-command.ts';
import { mainUsage } from './usage.ts';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest, env);
      case 'checkpoints':
        return await checkpointsCommand(rest, env);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        (command === undefined ? process.stderr : process.stdout).write(`${mainUsage}\n`);
        return command === undefined ? ExitCode.USAGE : ExitCode.OK;
      default:
        process.stderr.write(`stator: unknown command ${JSON.stringify(command)}; commands are run and checkpoints (stator --help)\n`);
        return ExitCode.USAGE;
    }
  } catch (error) {
    const code = exitCodeFor(error);
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`stator: ${message}\n`);
    if (env.STATOR_DEBUG === '1' && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
    return code;
  }
}

const code = await main(process.argv.slice(2), process.env);
// Exit explicitly: the run is over, and a stray handle (a user's timer) must not keep the process up.
process.exit(code);
