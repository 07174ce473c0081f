// `stator files list|get|put|delete`: a job's file area (ctx.files, docs/files.md) from the shell,
// in the job's folder under --state-dir (embedded) or its Object Store bucket (--nats).
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FilesUnavailableError, type PutOptions } from '../../src/files/index.ts';
import { DEFAULT_STATE_DIR } from '../defaults.ts';
import { ConfigError } from '../errors.ts';
import type { ClosableJobFiles } from '../files/closable-job-files.ts';
import { openDirectoryFiles } from '../files/directory-files.ts';
import { digestHex } from '../files/file-digest.ts';
import { openObjectStoreFiles } from '../files/object-store-files.ts';
import { loadJob } from '../job/load-job.ts';
import { connectNats, type NatsLink } from '../nats/connection.ts';
import { NATS_CLI_OPTIONS, natsFlagsFrom, natsUrlFrom, resolveNatsSettings } from '../nats/connection-options.ts';
import { ExitCode } from './exit-codes.ts';
import { parseCommandLine } from './parse-command-line.ts';
import { parseByteSize } from './run-command.ts';
import { filesUsage } from './usage.ts';

const ACTIONS = ['list', 'get', 'put', 'delete'] as const;
type Action = (typeof ACTIONS)[number];

/** `stator files list|get|put|delete`: returns the exit code. */
export async function filesCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommandLine('files', argv, {
    job: { type: 'string' },
    'state-dir': { type: 'string' },
    input: { type: 'string' },
    output: { type: 'string' },
    'expected-digest': { type: 'string' },
    'files-max-bytes': { type: 'string' },
    replicas: { type: 'string' },
    ...NATS_CLI_OPTIONS,
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${filesUsage}\n`);
    return ExitCode.OK;
  }
  const [actionText, ...rest] = positionals;
  if (!ACTIONS.includes(actionText as Action)) {
    throw new ConfigError(
      `stator files needs list, get, put or delete, got ${actionText === undefined ? 'nothing' : JSON.stringify(actionText)} (stator files --help)`,
    );
  }
  const action = actionText as Action;
  // list takes an optional prefix, the others one file name; a job module may stand for --job.
  let jobName = values.job;
  const operands: string[] = [];
  for (const arg of rest) {
    if (jobName === undefined && /\.(m|c)?(t|j)s$/.test(arg) && existsSync(arg)) jobName = (await loadJob(arg)).name;
    else operands.push(arg);
  }
  if (jobName === undefined) throw new ConfigError(`stator files ${action} needs --job <name> or a job module`);
  const maxOperands = 1;
  if (operands.length > maxOperands || (action !== 'list' && operands.length === 0)) {
    throw new ConfigError(
      action === 'list'
        ? `stator files list takes at most one prefix, got ${operands.length}`
        : `stator files ${action} needs exactly one file name, got ${operands.length === 0 ? 'none' : operands.map((o) => JSON.stringify(o)).join(' ')}`,
    );
  }
  const only = (flag: 'input' | 'expected-digest' | 'files-max-bytes' | 'replicas' | 'output', actions: Action[]) => {
    if (values[flag] !== undefined && !actions.includes(action))
      throw new ConfigError(`--${flag} is an option of stator files ${actions.join('/')}, not of ${action}`);
  };
  only('input', ['put']);
  only('expected-digest', ['put']);
  only('files-max-bytes', ['put']);
  only('replicas', ['put']);
  only('output', ['get']);
  const expected = values['expected-digest'];
  // A malformed digest would read as another writer's change ("expected digest x, found ...").
  if (expected !== undefined && expected !== 'none' && digestHex(expected) === undefined)
    throw new ConfigError(
      `--expected-digest ${expected} is not a digest: give one as list --json or a previous put printed it (SHA-256=...), or none`,
    );
  const maxBytes =
    values['files-max-bytes'] === undefined ? undefined : parseByteSize('--files-max-bytes', values['files-max-bytes']);
  const replicas = values.replicas === undefined ? undefined : Number(values.replicas);
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > 5))
    throw new ConfigError(`--replicas ${values.replicas} is not an integer from 1 to 5`);

  const flags = natsFlagsFrom(values);
  const stateDir = values['state-dir'] ?? DEFAULT_STATE_DIR;
  let link: NatsLink | undefined;
  let scratch: string | undefined;
  let files: ClosableJobFiles;
  if (natsUrlFrom(flags, env) === undefined) {
    const dir = join(stateDir, jobName, 'files');
    if (action !== 'put' && !existsSync(dir)) return noArea(action, jobName, dir, values.json === true);
    files = await openDirectoryFiles({ dir, maxBytes });
  } else {
    const settings = resolveNatsSettings(flags, env);
    link = await connectNats({
      ...settings,
      name: settings.name === 'stator' ? `stator files ${jobName}` : settings.name,
    });
    // The tool never hands out paths: its cache is a temporary folder, not the job's.
    scratch = await mkdtemp(join(tmpdir(), 'stator-files-'));
    try {
      files = await openObjectStoreFiles({
        connection: link.nc,
        job: jobName,
        cacheDir: join(scratch, 'cache'),
        maxBytes,
        replicas,
        // Only a put creates the bucket: looking must not leave one behind for a job that never ran.
        create: action === 'put',
      });
    } catch (error) {
      await link.close();
      await rm(scratch, { recursive: true, force: true });
      if (error instanceof FilesUnavailableError && !error.retryable && action === 'list')
        return noArea(action, jobName, `nats:${jobName}`, values.json === true, error.message);
      throw error;
    }
  }
  try {
    return await run(files, action, operands[0], values);
  } finally {
    await files.close();
    await link?.close();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}

async function run(
  files: ClosableJobFiles,
  action: Action,
  operand: string | undefined,
  values: {
    readonly input?: string;
    readonly output?: string;
    readonly 'expected-digest'?: string;
    readonly json?: boolean;
  },
): Promise<number> {
  switch (action) {
    case 'list': {
      const entries = await files.list(operand ?? '');
      if (values.json === true) {
        // With each file's digest (stat's), the version --expected-digest names; a file deleted since
        // the listing is left out.
        const infos = await Promise.all(entries.map((entry) => files.stat(entry.name)));
        process.stdout.write(`${JSON.stringify(infos.filter((info) => info !== undefined))}\n`);
      } else if (entries.length === 0)
        process.stdout.write(
          `no files${operand === undefined ? '' : ` starting with ${operand}`} in ${files.description}\n`,
        );
      else {
        for (const entry of entries)
          process.stdout.write(
            `${String(entry.size).padStart(12)}  ${new Date(entry.modifiedMs).toISOString()}  ${entry.name}\n`,
          );
      }
      return ExitCode.OK;
    }
    case 'get': {
      const stream = Readable.fromWeb((await files.getStream(operand!)) as import('node:stream/web').ReadableStream);
      const target: Writable =
        values.output === undefined || values.output === '-'
          ? stdoutWithoutClosing()
          : (await openPath(values.output, 'w')).createWriteStream();
      await pipeline(stream, target);
      return ExitCode.OK;
    }
    case 'put': {
      const input = values.input === undefined || values.input === '-' ? undefined : await openPath(values.input, 'r');
      const expected = values['expected-digest'];
      const options: PutOptions =
        expected === undefined ? {} : { expectedDigest: expected === 'none' ? null : expected };
      let info;
      try {
        info = await files.put(operand!, input?.createReadStream() ?? process.stdin, options);
      } finally {
        await input?.close();
      }
      if (values.json === true) process.stdout.write(`${JSON.stringify(info)}\n`);
      else process.stdout.write(`put ${info.name} in ${files.description}: ${info.size} bytes, ${info.digest}\n`);
      return ExitCode.OK;
    }
    case 'delete': {
      const existed = await files.delete(operand!);
      process.stdout.write(
        existed ? `deleted ${operand} from ${files.description}\n` : `no file ${operand} in ${files.description}\n`,
      );
      return existed ? ExitCode.OK : ExitCode.FAILED;
    }
  }
}

/**
 * Opens --input (r) or --output (w) before any byte moves, so that a missing file, a folder or a
 * missing parent folder is a bad argument in one line (a stream opening the path itself would
 * report it as an unhandled 'error' event with a stack, or as a bare errno).
 */
async function openPath(path: string, flags: 'r' | 'w'): Promise<FileHandle> {
  const option = flags === 'r' ? '--input' : '--output';
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    throw new ConfigError(
      flags === 'r'
        ? `cannot read ${option} ${path}: ${(error as Error).message}; pass an existing file, or leave ${option} out to read stdin`
        : `cannot write ${option} ${path}: ${(error as Error).message}; pass a file path in an existing folder, or leave ${option} out to write stdout`,
      { cause: error },
    );
  }
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw new ConfigError(`${option} ${path} is a folder; pass a file`);
  }
  return handle;
}

/** A job without a file area: list says so (exit 0); get and delete find nothing (exit 1). */
function noArea(action: Action, job: string, where: string, json: boolean, detail?: string): number {
  if (action === 'list') {
    process.stdout.write(json ? '[]\n' : `no files for job ${job}: ${detail ?? `${where} does not exist`}\n`);
    return ExitCode.OK;
  }
  process.stderr.write(`stator: no file area for job ${job} (${where} does not exist): nothing to ${action}\n`);
  return ExitCode.FAILED;
}

/** process.stdout as a pipeline target that stays open (node closes stdout at exit). */
function stdoutWithoutClosing(): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (process.stdout.write(chunk)) done();
      else process.stdout.once('drain', () => done());
    },
  });
}
