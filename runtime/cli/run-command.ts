import { backendOf, createRuntime } from '../create-runtime.ts';
import { lmdb, natsCore, natsJetStream, natsKv, natsObj, pino, promClient } from '../deferred-packages.ts';
import { DEFAULT_STATE_DIR } from '../defaults.ts';
import { ConfigError } from '../errors.ts';
import { loadJob } from '../job/load-job.ts';
import { parseParallelism, withParallelism, type ParallelismOverride } from '../job/parallelism-override.ts';
import { NATS_CLI_OPTIONS, natsFlagsFrom, natsUrlFrom } from '../nats/connection-options.ts';
import type { NatsFlags } from '../nats/connection-options.ts';
import { parseHttpAddress, startHttpServer } from '../http/index.ts';
import type { HttpAddress, HttpServer } from '../http/index.ts';
import type { StateBackendKind } from '../state-backends/local-state.ts';
import { createLogger, isLogFormat, isLogLevel } from '../log.ts';
import type { LogFormat, LogLevel } from '../log.ts';
import { StatorError } from '../../coders/index.ts';
import { createProcessRegistry } from '../metrics/index.ts';
import { files, nats } from '../transport.ts';
import type { Job } from '../job/job.ts';
import type { Logger } from '../log.ts';
import { ExitCode, exitCodeFor, ReportedError } from './exit-codes.ts';
import { jobCodeStack, unexpectedErrorDetails } from './unexpected-error.ts';
import { parseCommandLine } from './parse-command-line.ts';
import { runUsage } from './usage.ts';
import { counted } from '../counted.ts';

/** Parsed options of `stator run`. */
export interface RunArguments {
  readonly modulePath: string;
  readonly input: string | undefined;
  readonly output: string | undefined;
  readonly deadLetter: string | undefined;
  readonly stateDir: string;
  readonly follow: boolean;
  /** --max-line-bytes: the longest input line read as a message. */
  readonly maxLineBytes: number | undefined;
  readonly checkpointIntervalMs: number | undefined;
  readonly maxRetries: number | undefined;
  readonly natsUrl: string | undefined;
  /** The NATS connection flags besides the URL (auth, TLS, --max-outage, --nats-name); env fills the rest. */
  readonly nats: Omit<NatsFlags, 'nats'>;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Where the HTTP server listens (--http); undefined: no server. */
  readonly http: HttpAddress | undefined;
  /** The state API's token (--http-token, else STATOR_HTTP_TOKEN); undefined: none required. */
  readonly httpToken: string | undefined;
  /** The embedded-mode options given (--input, --output, ...), refused in NATS mode. */
  readonly embeddedFlags: readonly string[];
  /** --state-backend (undefined: heap, or disk when --state-memory is given). */
  readonly stateBackend: StateBackendKind | undefined;
  /** --state-memory in bytes. */
  readonly stateMemoryBytes: number | undefined;
  /** What selected NATS mode, for messages: `--nats` or `NATS_URL`. */
  readonly natsSelectedBy: '--nats' | 'NATS_URL' | undefined;
  /** --scale-out: split the job into units that its workers share (NATS mode). */
  readonly scaleOut: boolean;
  /** --replicas: replicas of the job's streams and buckets (NATS mode). */
  readonly replicas: number | undefined;
  /** --lease-ttl: how long a silent worker keeps its units (NATS mode). */
  readonly leaseTtlMs: number | undefined;
  /** --max-unit-failures: failures in a row after which a unit is marked failed (NATS mode). */
  readonly maxUnitFailures: number | undefined;
  /** --input-partitions: the input is pre-partitioned into this many subjects (with --scale-out). */
  readonly inputPartitions: number | undefined;
  /** --parallelism: partitions per stage instead of the job module's (undefined: as defined). */
  readonly parallelism: ParallelismOverride | undefined;
  /** --files-max-bytes: the size limit of the job's file area (ctx.files). */
  readonly filesMaxBytes: number | undefined;
}

/** Options that only embedded mode reads: NATS mode would ignore them, so giving them with it is refused. */
const EMBEDDED_ONLY_FLAGS = ['input', 'output', 'dead-letter', 'follow', 'max-line-bytes'] as const;

/** @throws ConfigError on bad arguments; returns undefined for --help. */
export function parseRunArguments(argv: readonly string[], env: NodeJS.ProcessEnv): RunArguments | undefined {
  const { values, positionals } = parseCommandLine('run', argv, {
    input: { type: 'string' },
    output: { type: 'string' },
    'dead-letter': { type: 'string' },
    'state-dir': { type: 'string' },
    follow: { type: 'boolean' },
    'max-line-bytes': { type: 'string' },
    'checkpoint-interval': { type: 'string' },
    'max-retries': { type: 'string' },
    'state-backend': { type: 'string' },
    'state-memory': { type: 'string' },
    // The nats CLI's connection flags (--nats, --user, --creds, --tlsca, --max-outage...).
    ...NATS_CLI_OPTIONS,
    'log-level': { type: 'string' },
    'log-format': { type: 'string' },
    http: { type: 'string' },
    'http-token': { type: 'string' },
    'scale-out': { type: 'boolean' },
    replicas: { type: 'string' },
    'files-max-bytes': { type: 'string' },
    'lease-ttl': { type: 'string' },
    'max-unit-failures': { type: 'string' },
    'input-partitions': { type: 'string' },
    parallelism: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return undefined;
  const httpToken = values['http-token'] ?? (env.STATOR_HTTP_TOKEN === '' ? undefined : env.STATOR_HTTP_TOKEN);
  if (httpToken !== undefined && values.http === undefined)
    throw new ConfigError('--http-token (or STATOR_HTTP_TOKEN) protects the HTTP server: add --http <host:port>');
  if (httpToken === '') throw new ConfigError('--http-token is empty: give a token, or leave the option out');
  if (positionals.length !== 1) {
    throw new ConfigError(
      `stator run takes one job module, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}; e.g. stator run examples/wordcount.ts --input in.txt --output out.jsonl`,
    );
  }
  const logLevel = values['log-level'] ?? 'info';
  if (!isLogLevel(logLevel))
    throw new ConfigError(`--log-level ${logLevel} is unknown; use debug, info, warn, error or silent`);
  const logFormat = values['log-format'] ?? 'text';
  if (!isLogFormat(logFormat))
    throw new ConfigError(
      `--log-format ${logFormat} is unknown; use text (one line per event) or json (one JSON object per line)`,
    );
  const stateBackend = values['state-backend'];
  if (stateBackend !== undefined && stateBackend !== 'heap' && stateBackend !== 'disk') {
    throw new ConfigError(
      `--state-backend ${stateBackend} is unknown; use heap (all keyed state in memory) or disk (a bounded heap cache over a local store)`,
    );
  }
  const stateMemoryBytes =
    values['state-memory'] === undefined ? undefined : parseByteSize('--state-memory', values['state-memory']);
  if (stateBackend === 'heap' && stateMemoryBytes !== undefined) {
    throw new ConfigError(
      "--state-memory bounds the disk backend's heap cache; the heap backend keeps all state in memory: drop one of --state-backend heap and --state-memory",
    );
  }
  return {
    modulePath: positionals[0]!,
    input: values.input,
    output: values.output,
    deadLetter: values['dead-letter'],
    stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR,
    follow: values.follow ?? false,
    maxLineBytes:
      values['max-line-bytes'] === undefined ? undefined : parseByteSize('--max-line-bytes', values['max-line-bytes']),
    checkpointIntervalMs: integerOption('--checkpoint-interval', values['checkpoint-interval'], 1),
    maxRetries: integerOption('--max-retries', values['max-retries'], 0),
    natsUrl: natsUrlFrom({ nats: values.nats }, env),
    nats: natsConnectionFlags(values),
    logLevel,
    logFormat,
    http: values.http === undefined ? undefined : parseHttpAddress(values.http),
    httpToken,
    embeddedFlags: EMBEDDED_ONLY_FLAGS.filter((flag) => values[flag] !== undefined).map((flag) => `--${flag}`),
    stateBackend,
    stateMemoryBytes,
    natsSelectedBy:
      values.nats !== undefined
        ? '--nats'
        : natsUrlFrom({ nats: undefined }, env) !== undefined
          ? 'NATS_URL'
          : undefined,
    scaleOut: values['scale-out'] ?? false,
    replicas: integerOption('--replicas', values.replicas, 1),
    leaseTtlMs: integerOption('--lease-ttl', values['lease-ttl'], 100),
    maxUnitFailures: integerOption('--max-unit-failures', values['max-unit-failures'], 1),
    inputPartitions: integerOption('--input-partitions', values['input-partitions'], 1),
    parallelism: values.parallelism === undefined ? undefined : parseParallelism(values.parallelism),
    filesMaxBytes:
      values['files-max-bytes'] === undefined
        ? undefined
        : parseByteSize('--files-max-bytes', values['files-max-bytes']),
  };
}

function natsConnectionFlags(values: Readonly<Record<string, unknown>>): Omit<NatsFlags, 'nats'> {
  const { nats: _url, ...rest } = natsFlagsFrom(values);
  // Only what was given: unset flags fall back to the nats CLI's environment variables.
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as Omit<NatsFlags, 'nats'>;
}

/** The command-line spelling of a NatsFlags field. */
function flagName(field: string): string {
  return field === 'maxOutage' ? 'max-outage' : field === 'name' ? 'nats-name' : field;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  B: 1,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
};

/** A size such as 268435456, 256MiB, 1.5GiB or 512MB: at least 1 byte. */
export function parseByteSize(name: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(value.trim());
  const unit = match === null ? undefined : BYTE_UNITS[match[2]!];
  const bytes = match === null || unit === undefined ? NaN : Math.floor(Number(match[1]) * unit);
  if (Number.isNaN(bytes))
    throw new ConfigError(
      `${name} ${value} is not a size; give bytes or a number with KiB, MiB, GiB (or KB, MB, GB), e.g. 256MiB`,
    );
  if (bytes < 1) throw new ConfigError(`${name} ${value} is less than 1 byte: the limit must be at least 1 byte`);
  return bytes;
}

function integerOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new ConfigError(`${name} ${value} is not an integer >= ${min}`);
  return n;
}

/** `stator run`: returns the exit code. */
export async function runCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = parseRunArguments(argv, env);
  if (args === undefined) {
    process.stdout.write(`${runUsage}\n`);
    return ExitCode.OK;
  }
  if (args.natsUrl !== undefined && args.embeddedFlags.length > 0) {
    const flags = args.embeddedFlags.join(', ');
    throw new ConfigError(
      `${flags} ${args.embeddedFlags.length === 1 ? 'is an embedded-mode option' : 'are embedded-mode options'}, but ` +
        `${args.natsSelectedBy === 'NATS_URL' ? 'NATS_URL is set, which selects' : '--nats selects'} NATS mode (input and output are the job's NATS subjects, checkpoints go to JetStream): ` +
        `drop ${flags}, or ${args.natsSelectedBy === 'NATS_URL' ? 'unset NATS_URL' : 'drop --nats'} to run embedded`,
    );
  }
  if (!args.scaleOut && args.inputPartitions !== undefined)
    throw new ConfigError('--input-partitions configures a scaled-out job: add --scale-out (and --nats <url>)');
  if (args.natsUrl === undefined) {
    if (args.scaleOut)
      throw new ConfigError(
        '--scale-out runs the job as one worker of a group on NATS: add --nats <url> (or set NATS_URL)',
      );
    const given = [
      args.replicas === undefined ? undefined : '--replicas',
      args.leaseTtlMs === undefined ? undefined : '--lease-ttl',
      args.maxUnitFailures === undefined ? undefined : '--max-unit-failures',
    ].find((flag) => flag !== undefined);
    if (given !== undefined)
      throw new ConfigError(
        `${given} configures the workers of a job on NATS: add --nats <url> (or set NATS_URL), or drop it to run embedded`,
      );
    if (args.input === undefined)
      throw new ConfigError('embedded mode needs --input <file> (or run NATS mode with --nats <url>)');
    if (args.output === undefined)
      throw new ConfigError('embedded mode needs --output <file> (or run NATS mode with --nats <url>)');
    const natsOnly = Object.keys(args.nats);
    if (natsOnly.length > 0) {
      throw new ConfigError(
        `--${natsOnly.map(flagName).join(', --')} ${natsOnly.length === 1 ? 'is a NATS option' : 'are NATS options'}: add --nats <url> (or set NATS_URL) to run in NATS mode`,
      );
    }
    if (args.follow && args.input === args.output)
      throw new ConfigError('--input and --output are the same file; the job would read its own output');
  }
  preloadPackages(args);
  const loaded = await loadJob(args.modulePath);
  const job = args.parallelism === undefined ? loaded : withParallelism(loaded, args.parallelism);
  const logger = createLogger(args.logLevel, process.stderr, { format: args.logFormat, bindings: { job: job.name } });
  try {
    const http = args.http === undefined ? undefined : await startHttpServer({ address: args.http, logger });
    try {
      if (http !== undefined) logger.info(`HTTP server listening on ${http.url}`, { url: http.url });
      return await runJob(args, job, logger, http);
    } finally {
      await http?.close();
    }
  } catch (error) {
    if (args.logFormat !== 'json') throw error;
    // One JSON line, not a plain `stator:` line in the middle of a JSON log.
    const exitCode = exitCodeFor(error);
    const details = unexpectedErrorDetails(error) ?? jobCodeStack(error);
    logger.error(error instanceof Error ? error.message : String(error), {
      exitCode,
      ...(error instanceof StatorError ? { code: error.code } : {}),
      // Not a StatorError, or the job's own code failed: where it came from, as the text format prints it.
      ...(details === undefined ? {} : { stack: details }),
    });
    throw new ReportedError(error);
  }
}

/**
 * Loads the deferred packages this run will use before its job module: for a TypeScript job,
 * loadJob registers tsx's module hooks, and every file of a package required after them goes
 * through tsx, which reads and lexes it (lmdb's, on the disk backend, right before the first
 * message). A package that fails to load here fails again, and is reported, where it is used.
 */
function preloadPackages(args: RunArguments): void {
  const packages = [
    ...(backendOf(args) === 'disk' ? [lmdb] : []),
    ...(args.logFormat === 'json' ? [pino] : []),
    ...(args.http === undefined ? [] : [promClient]),
    ...(args.natsUrl === undefined ? [] : [natsCore, natsJetStream, natsKv, natsObj]),
  ];
  for (const load of packages) {
    try {
      load();
    } catch {
      // reported at its use
    }
  }
}

/** Runs the job through createRuntime, files or NATS; the first SIGTERM/SIGINT stops it gracefully. */
async function runJob(args: RunArguments, job: Job, logger: Logger, http: HttpServer | undefined): Promise<number> {
  const transport =
    args.natsUrl === undefined
      ? files({
          input: args.input!,
          output: args.output!,
          stateDir: args.stateDir,
          follow: args.follow,
          ...(args.maxLineBytes === undefined ? {} : { maxLineBytes: args.maxLineBytes }),
          ...(args.deadLetter === undefined ? {} : { deadLetter: args.deadLetter }),
        })
      : nats({
          servers: args.natsUrl,
          connection: args.nats,
          stateDir: args.stateDir,
          group: {
            ...(args.replicas === undefined ? {} : { replicas: args.replicas }),
            ...(args.leaseTtlMs === undefined ? {} : { leaseTtlMs: args.leaseTtlMs }),
            ...(args.maxUnitFailures === undefined ? {} : { maxUnitFailures: args.maxUnitFailures }),
          },
          ...(args.scaleOut
            ? { scaleOut: args.inputPartitions === undefined ? {} : { inputPartitions: args.inputPartitions } }
            : {}),
        });
  const controller = new AbortController();
  const removeHandlers = onStopSignals(logger, () => controller.abort());
  try {
    const runtime = createRuntime({
      job,
      transport,
      signal: controller.signal,
      logger,
      ...(args.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: args.checkpointIntervalMs }),
      ...(args.maxRetries === undefined ? {} : { maxRetries: args.maxRetries }),
      ...(args.stateBackend === undefined ? {} : { stateBackend: args.stateBackend }),
      ...(args.stateMemoryBytes === undefined ? {} : { stateMemoryBytes: args.stateMemoryBytes }),
      ...(args.filesMaxBytes === undefined ? {} : { filesMaxBytes: args.filesMaxBytes }),
      ...(http === undefined
        ? {}
        : {
            http,
            registry: createProcessRegistry(),
            stateApi: args.httpToken === undefined ? {} : { token: args.httpToken },
          }),
    });
    const result = await runtime.run();
    logger.info(
      `job ${job.name} ${result.reason}: ${counted(result.messagesRead, 'message')} read, ${counted(result.checkpoints, 'checkpoint')} written, ${counted(result.deadLetters, 'dead letter')}`,
    );
    return ExitCode.OK;
  } finally {
    removeHandlers();
  }
}

/** First SIGTERM/SIGINT: graceful stop; a second one exits at once (130). */
function onStopSignals(logger: Logger, stop: () => void): () => void {
  let received = 0;
  const handler = (signal: NodeJS.Signals): void => {
    received++;
    if (received === 1) {
      logger.info(
        `${signal}: stopping (finishing in-flight messages, final checkpoint); send it again to exit at once`,
      );
      stop();
    } else {
      logger.warn(`${signal} again: exiting now, without a final checkpoint (the next run resumes from the last one)`);
      process.exit(ExitCode.INTERRUPTED);
    }
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
