import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
import { ConfigError } from '../errors.ts';

type CommandLineConfig<O extends ParseArgsOptionsConfig> = {
  args: string[];
  allowPositionals: true;
  strict: true;
  options: O;
};

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
    return parseArgs<CommandLineConfig<O>>({
      args: joinNegativeValues(argv, options),
      allowPositionals: true,
      strict: true,
      options,
    });
  } catch (error) {
    throw new ConfigError(
      `stator ${command}: ${describeParseError(error as Error & { code?: string }, Object.keys(options))}; ` +
        `see stator ${command} --help`,
      { cause: error },
    );
  }
}

/**
 * The option nearest a mistyped `--name` (`--ouput` → `--output`): within two edits, and nearer
 * than any other option.
 */
function closestOption(typed: string, names: readonly string[]): string | undefined {
  const name = typed.replace(/^-+/, '');
  const distances = names.map((candidate) => ({ candidate, distance: editDistance(name, candidate) }));
  const best = Math.min(...distances.map((d) => d.distance));
  const nearest = distances.filter((d) => d.distance === best);
  return best <= 2 && nearest.length === 1 ? `--${nearest[0]!.candidate}` : undefined;
}

/** Edits from a to b: insertions, deletions, substitutions and swaps of neighbours (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * `--max-retries -1` as `--max-retries=-1`: node's parser takes a value starting with '-' for an
 * option, so the value's own check ("-1 is not an integer >= 0") can say what is wrong.
 */
function joinNegativeValues(argv: readonly string[], options: ParseArgsOptionsConfig): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const option = arg.startsWith('--') && !arg.includes('=') ? options[arg.slice(2)] : undefined;
    if (option?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  return args;
}

/** node's parse errors in one line of our own words (its are several lines, one with an unbalanced quote). */
function describeParseError(error: Error & { code?: string }, names: readonly string[]): string {
  const unknown = /^Unknown option '([^']*)'/.exec(error.message);
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== null) {
    const closest = closestOption(unknown[1]!, names);
    return `unknown option ${unknown[1]}${closest === undefined ? '' : ` (did you mean ${closest}?)`}`;
  }
  const ambiguous = /^Option '(-[^ ']+)[^']*' argument is ambiguous/.exec(error.message);
  if (ambiguous !== null)
    return `${ambiguous[1]} needs a value; write a value that starts with '-' as ${ambiguous[1]}=-value`;
  return error.message.replace(/\s*\n\s*/g, ' ').replace(/\.$/, '');
}
