import { ConfigError } from '../errors.ts';
import { readGroupStatus, type GroupStatus, type UnitProgress } from '../group/index.ts';
import { loadJob } from '../job/load-job.ts';
import { connectNats } from '../nats/connection.ts';
import { NATS_CLI_OPTIONS, natsFlagsFrom, natsUrlFrom, resolveNatsSettings } from '../nats/connection-options.ts';
import { ExitCode } from './exit-codes.ts';
import { parseCommandLine } from './parse-command-line.ts';
import { statusUsage } from './usage.ts';
import { counted } from '../counted.ts';

/** `stator status`: a job's workers and who owns each partition, read from its group bucket. Returns the exit code. */
export async function statusCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommandLine('status', argv, {
    job: { type: 'string' },
    ...NATS_CLI_OPTIONS,
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${statusUsage}\n`);
    return ExitCode.OK;
  }
  let jobName = values.job;
  for (const arg of positionals) {
    if (jobName === undefined) jobName = (await loadJob(arg)).name;
    else throw new ConfigError(`stator status: unexpected argument ${JSON.stringify(arg)}`);
  }
  if (jobName === undefined) throw new ConfigError('stator status needs --job <name> or a job module');
  const flags = natsFlagsFrom(values);
  if (natsUrlFrom(flags, env) === undefined) {
    throw new ConfigError(
      'stator status needs --nats <url> (or NATS_URL): the workers of a job meet in NATS, where their group is kept',
    );
  }
  const settings = resolveNatsSettings(flags, env);
  const link = await connectNats({
    ...settings,
    name: settings.name === 'stator' ? `stator status ${jobName}` : settings.name,
  });
  try {
    const status = await readGroupStatus(link.nc, jobName);
    process.stdout.write(
      values.json === true ? `${JSON.stringify(status)}\n` : render(status, settings.servers.join(',')),
    );
    return ExitCode.OK;
  } finally {
    await link.close();
  }
}

function render(status: GroupStatus, servers: string): string {
  if (!status.exists)
    return `no group for job ${status.job} on ${servers}: no worker of it ran there (no bucket KV_${status.bucket})\n`;
  // Every worker left (or none joined since the bucket was made): no heartbeat lists the job's partitions.
  if (status.workers.length === 0 && status.units.length === 0)
    return (
      `job ${status.job}: no worker is running on ${servers} (its group bucket KV_${status.bucket} holds no heartbeat ` +
      `and no lease: every worker left); the partitions show once a worker runs (stator run ... --scale-out)\n`
    );
  const owned = status.units.filter((unit) => unit.owner !== undefined).length;
  let out = `job ${status.job}: ${counted(status.workers.length, 'worker')}, ${owned} of ${counted(status.units.length, 'partition')} owned\n\n`;
  out += table(
    ['WORKER', 'HOST', 'PID', 'STATE', 'LAST SEEN', 'PARTITIONS'],
    status.workers.map((w) => [
      w.id,
      w.host,
      String(w.pid),
      w.state,
      `${(w.lastSeenAgoMs / 1000).toFixed(1)}s ago${w.stale ? ' (stale)' : ''}`,
      String(w.units.length),
    ]),
  );
  out += '\n';
  out += table(
    ['PARTITION', 'OWNER', 'LEASE', 'POSITION', 'LAG', 'WATERMARK', 'LAST CHECKPOINT'],
    status.units.map((u) => [
      u.unit,
      u.owner ?? '-',
      u.revision === undefined ? '-' : String(u.revision),
      ...progressCells(u.progress),
    ]),
  );
  const failing = status.units.filter((u) => u.failure !== undefined);
  if (failing.length > 0) {
    out += '\n';
    out += table(
      ['FAILING', 'STATE', 'FAILURES', 'LAST FAILURE', 'ERROR'],
      failing.map((u) => [
        u.unit,
        u.failure!.failed ? 'FAILED (not started until cleared)' : 'retrying',
        String(u.failure!.failures),
        `${u.failure!.at} on ${u.failure!.worker}`,
        u.failure!.error.replace(/\s+/g, ' '),
      ]),
    );
  }
  return out;
}

function progressCells(progress: UnitProgress | undefined): string[] {
  const cell = (value: number | undefined): string => (value === undefined ? '-' : String(value));
  const watermark = progress?.watermark;
  const checkpoint = progress?.lastCheckpoint;
  return [
    cell(progress?.position),
    cell(progress?.lag),
    watermark === undefined
      ? '-'
      : Number.isSafeInteger(watermark) && Math.abs(watermark) <= 8.64e15
        ? new Date(watermark).toISOString()
        : String(watermark),
    checkpoint === undefined ? '-' : `${checkpoint.id} at ${checkpoint.at}`,
  ];
}

/** Left-aligned columns, two spaces apart; the empty table says so. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return `(no ${header[0]!.toLowerCase()}s)\n`;
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    `${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`;
  return line(header) + rows.map(line).join('');
}
