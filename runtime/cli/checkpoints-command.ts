import { rm } from 'node:fs/promises';
import { DEFAULT_STATE_DIR } from '../defaults.ts';
import { createCheckpoints } from '../../src/checkpoint/index.ts';
import type { CheckpointInfo, Checkpoints, CheckpointStore } from '../../src/checkpoint/index.ts';
import { mergeKeyGroupParts } from '../../src/state/index.ts';
import {
  createFileCheckpointStore,
  NoCheckpointBucketsError,
  openJetStreamCheckpointStore,
} from '../checkpoint/index.ts';
import { ConfigError } from '../errors.ts';
import { openGroupBucket } from '../group/group-bucket.ts';
import { decodeLayout, LAYOUT_KEY } from '../nats/job-layout.ts';
import { connectNats, type NatsLink } from '../nats/connection.ts';
import { NATS_CLI_OPTIONS, natsFlagsFrom, natsUrlFrom, resolveNatsSettings } from '../nats/connection-options.ts';
import { NATS_CHECKPOINT_TASK } from '../nats/run-nats-job.ts';
import { loadJob } from '../job/load-job.ts';
import { clearStateCommands, stateCommandLogPath } from '../state-api/index.ts';
import { ExitCode } from './exit-codes.ts';
import { parseCommandLine } from './parse-command-line.ts';
import { checkpointsUsage } from './usage.ts';

/** `stator checkpoints list|inspect|clear`: returns the exit code. */
export async function checkpointsCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommandLine('checkpoints', argv, {
    job: { type: 'string' },
    'state-dir': { type: 'string' },
    ...NATS_CLI_OPTIONS,
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${checkpointsUsage}\n`);
    return ExitCode.OK;
  }
  const [action, ...rest] = positionals;
  if (action !== 'list' && action !== 'inspect' && action !== 'clear') {
    throw new ConfigError(
      `stator checkpoints needs list, inspect or clear, got ${action === undefined ? 'nothing' : JSON.stringify(action)}`,
    );
  }
  // The job is named by --job, or by a module path (which is loaded to read its name).
  let jobName = values.job;
  let idText: string | undefined;
  for (const arg of rest) {
    if (/^\d+$/.test(arg) && action === 'inspect' && idText === undefined) idText = arg;
    else if (jobName === undefined) jobName = (await loadJob(arg)).name;
    else if (action === 'inspect' && idText === undefined)
      throw new ConfigError(
        `stator checkpoints inspect takes a checkpoint id (a number, as checkpoints list shows), got ${JSON.stringify(arg)}`,
      );
    else
      throw new ConfigError(
        `stator checkpoints ${action}: unexpected argument ${JSON.stringify(arg)}; name the job once, with --job <name> or its module${action === 'inspect' ? ', and at most one checkpoint id' : ''}`,
      );
  }
  if (jobName === undefined) throw new ConfigError(`stator checkpoints ${action} needs --job <name> or a job module`);
  const flags = natsFlagsFrom(values);
  // NATS mode keeps a job's checkpoints in its JetStream buckets (as `stator run --nats` does).
  let link: NatsLink | undefined;
  let store: CheckpointStore;
  if (natsUrlFrom(flags, env) === undefined) {
    store = createFileCheckpointStore({ stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR, job: jobName });
  } else {
    const settings = resolveNatsSettings(flags, env);
    link = await connectNats({
      ...settings,
      name: settings.name === 'stator' ? `stator checkpoints ${jobName}` : settings.name,
    });
    try {
      // Read-only: a job that never ran here gets no buckets created by looking at it.
      store = await openJetStreamCheckpointStore({
        job: jobName,
        task: NATS_CHECKPOINT_TASK,
        connection: link.nc,
        create: false,
      });
    } catch (error) {
      // A scaled-out job has no single-process buckets: "no checkpoints" (or "nothing to clear") would
      // be false; its units' checkpoints are not read here yet.
      const scaledOut = error instanceof NoCheckpointBucketsError && (await runsScaledOut(link, jobName));
      await link.close();
      if (!(error instanceof NoCheckpointBucketsError)) throw error;
      if (scaledOut)
        throw new ConfigError(
          `job ${jobName} runs scaled out (--scale-out): its checkpoints are per unit, in the buckets ` +
            `stator-${jobName}-<unit>, which stator checkpoints does not reach yet (docs/scale-out.md, ` +
            `"What is not there yet"); stator status --job ${jobName} shows each unit's last checkpoint`,
        );
      if (action === 'list' && values.json === true) process.stdout.write('[]\n');
      else
        process.stdout.write(
          `no checkpoints for job ${jobName} on ${settings.servers.join(',')}${action === 'clear' ? ': nothing to clear' : ''} (no buckets KV_${error.bucket}, OBJ_${error.bucket})\n`,
        );
      return ExitCode.OK;
    }
  }
  const checkpoints = createCheckpoints(store, { jobId: jobName, mergeKeyGroupParts });
  try {
    switch (action) {
      case 'list':
        return await list(checkpoints, store.description, values.json ?? false);
      case 'inspect':
        return await inspect(checkpoints, idText === undefined ? undefined : Number(idText), values.json ?? false);
      default:
        await checkpoints.clear();
        // The state API's logged writes belong to the state cleared: a fresh start must not replay them.
        if (link === undefined)
          await rm(stateCommandLogPath(values['state-dir'] ?? DEFAULT_STATE_DIR, jobName), { force: true });
        else await clearStateCommands(link, jobName);
        process.stdout.write(`cleared the checkpoints of ${jobName} in ${store.description}\n`);
        return ExitCode.OK;
    }
  } finally {
    await checkpoints.close();
    await store.close();
    await link?.close();
  }
}

/** Whether the job's layout record (in its group bucket, read only) says it runs scaled out. */
async function runsScaledOut(link: NatsLink, job: string): Promise<boolean> {
  const kv = await openGroupBucket(link.nc, job);
  const entry = await kv?.get(LAYOUT_KEY);
  const record = entry?.operation === 'PUT' ? decodeLayout(entry.value) : undefined;
  return record !== undefined && record.wholeJob !== true;
}

function summary(info: CheckpointInfo): Record<string, unknown> {
  return {
    id: info.id,
    createdAt: new Date(info.createdAt).toISOString(),
    kind: info.kind,
    parentId: info.parentId ?? null,
    changedKeys: info.stats.changedKeys,
    bytesWritten: info.stats.bytesWritten,
    bytesReferenced: info.stats.bytesReferenced,
    keyGroups: info.stats.keyGroups,
  };
}

async function list(checkpoints: Checkpoints, where: string, asJson: boolean): Promise<number> {
  const infos = await checkpoints.list();
  if (asJson) {
    process.stdout.write(`${JSON.stringify(infos.map(summary))}\n`);
    return ExitCode.OK;
  }
  if (infos.length === 0) {
    process.stdout.write(`no checkpoints in ${where}\n`);
    return ExitCode.OK;
  }
  process.stdout.write(
    `${'id'.padStart(6)}  ${'created'.padEnd(24)}  ${'kind'.padEnd(11)}  ${'changed keys'.padStart(12)}  ${'bytes'.padStart(10)}\n`,
  );
  for (const info of infos) {
    process.stdout.write(
      `${String(info.id).padStart(6)}  ${new Date(info.createdAt).toISOString().padEnd(24)}  ${info.kind.padEnd(11)}  ${String(info.stats.changedKeys).padStart(12)}  ${String(info.stats.bytesReferenced).padStart(10)}\n`,
    );
  }
  return ExitCode.OK;
}

async function inspect(checkpoints: Checkpoints, id: number | undefined, asJson: boolean): Promise<number> {
  const loaded = await checkpoints.load(id);
  if (loaded === undefined) {
    process.stdout.write('no checkpoints\n');
    return ExitCode.OK;
  }
  const { descriptor } = loaded;
  const sinks = Object.fromEntries(
    Object.entries(descriptor.sinks).map(([name, record]) => [name, new TextDecoder().decode(record)]),
  );
  const detail = {
    ...summary(loaded.info),
    inputs: descriptor.inputs,
    sinks,
    partitions: descriptor.partitions.map((p) => ({
      stage: p.stage,
      partition: p.partition,
      watermark: p.watermark,
      keyGroups: p.keyGroups.size,
    })),
    skipped: loaded.skipped.map((e) => e.message),
  };
  // Watermarks at Beam's sentinels are bigints (beyond 2^53): shown as decimal strings.
  const replacer = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);
  process.stdout.write(asJson ? `${JSON.stringify(detail, replacer)}\n` : `${JSON.stringify(detail, replacer, 2)}\n`);
  return ExitCode.OK;
}
