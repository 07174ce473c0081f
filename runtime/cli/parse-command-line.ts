import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
import { ConfigError } from '../errors.ts';

type CommandLineConfig<O extends ParseArgsOptionsConfig> = { args: string[]; allowPositionals: true; strict: true; options: O };

/**
 * Parses a `stator <command>` command line (strict, positionals allowed).
 * @throws ConfigError naming the command and its --help when a flag is unknown or malformed.
 */
export function parseCommandLine<const O extends ParseArgsOptionsConfig>(
  command: string,
  argv: readonly string[],
  options: O,
): ReturnType<typeof parseArgs<CommandLineConfig<O>>> {
  try {
    return parseArgs<CommandLineConfig<O>>({ args: [...argv], allowPositionals: true, strict: true, options });
  } catch (error) {
    throw new ConfigError(`stator ${command}: ${(error as Error).message}; see stator ${command} --help`, { cause: error });
  }
}
