import { DEFAULT_STATE_DIR } from '../defaults.ts';
import { ConfigError } from '../errors.ts';
import {
  createFileCheckpointStore,
  NoCheckpointBucketsError,
  openJetStreamCheckpointStore,
} from '../checkpoint/index.ts';
import type { CheckpointStore } from '../../src/checkpoint/index.ts';
import { loadJob } from '../job/load-job.ts';
import { connectNats, type NatsLink } from '../nats/connection.ts';
import { NATS_CLI_OPTIONS, natsFlagsFrom, natsUrlFrom, resolveNatsSettings } from '../nats/connection-options.ts';
import { NATS_CHECKPOINT_TASK } from '../nats/run-nats-job.ts';
import {
  CheckpointStateView,
  ForwardingStateOwners,
  StateApiError,
  StateService,
  StateStores,
  UnitCheckpointViews,
} from '../state-api/index.ts';
import type { EventualStateView, Json, StateStore, StateWrite } from '../state-api/index.ts';
import { parseETag } from '../state-api/etag.ts';
import { jobStreamNames } from '../nats/stream-names.ts';
import { createLogger } from '../log.ts';
import type { Job } from '../job/job.ts';
import { ExitCode } from './exit-codes.ts';
import { parseCommandLine } from './parse-command-line.ts';
import { stateUsage } from './usage.ts';

/**
 * `stator state get|put|delete`: the state API from the command line. With --url it calls a running
 * job's HTTP server (every operation, strong reads by default there); without, `get` reads the job's
 * latest checkpoint (eventual: works when the job is stopped). Prints one JSON line.
 */
export async function stateCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommandLine('state', argv, {
    key: { type: 'string' },
    value: { type: 'string' },
    etag: { type: 'string' },
    stage: { type: 'string' },
    consistency: { type: 'string' },
    url: { type: 'string' },
    'http-token': { type: 'string' },
    'state-dir': { type: 'string' },
    ...NATS_CLI_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${stateUsage}\n`);
    return ExitCode.OK;
  }
  const [action, modulePath, ...rest] = positionals;
  if (action !== 'get' && action !== 'put' && action !== 'delete') {
    throw new ConfigError(
      `stator state needs get, put or delete, got ${action === undefined ? 'nothing' : JSON.stringify(action)}`,
    );
  }
  if (modulePath === undefined || rest.length > 0)
    throw new ConfigError(
      `stator state ${action} takes one job module, e.g. stator state ${action} examples/wordcount.ts --key the`,
    );
  const key = values.key;
  if (key === undefined || key === '') throw new ConfigError(`stator state ${action} needs --key <key>`);
  if (action === 'put' && values.value === undefined)
    throw new ConfigError(
      'stator state put needs --value <json object of cells by tag id>, e.g. --value \'{"count":0}\'',
    );
  const consistency = values.consistency;
  if (consistency !== undefined && consistency !== 'strong' && consistency !== 'eventual')
    throw new ConfigError(`--consistency ${consistency} is unknown: use strong or eventual`);
  const job = await loadJob(modulePath);
  const storeName = values.stage === undefined ? job.name : `${job.name}.${values.stage}`;
  const url = values.url ?? env.STATOR_URL;
  if (url !== undefined)
    return await overHttp(
      url,
      values['http-token'] ?? env.STATOR_HTTP_TOKEN,
      action,
      storeName,
      key,
      values.value,
      values.etag,
      consistency,
    );
  const flags = natsFlagsFrom(values);
  const natsMode = natsUrlFrom(flags, env) !== undefined;
  if (action !== 'get' && !natsMode) {
    throw new ConfigError(
      `stator state ${action}: writes are applied by the running job; pass its server with --url http://host:port (stator run ... --http host:port), or its NATS server with --nats`,
    );
  }
  if (consistency === 'strong' && !natsMode)
    throw new ConfigError(
      '--consistency strong reads from the running job: pass its server with --url http://host:port, or its NATS server with --nats',
    );
  if (natsMode && (action !== 'get' || consistency === 'strong')) {
    const settings = resolveNatsSettings(flags, env);
    const link = await connectNats({
      ...settings,
      name: settings.name === 'stator' ? `stator state ${job.name}` : settings.name,
    });
    try {
      return await viaOwner(link, job, action, storeName, key, values.value, values.etag);
    } finally {
      await link.close();
    }
  }
  let store: StateStore;
  try {
    store = new StateStores(job).get(storeName);
  } catch (error) {
    return stateApiFailure(error);
  }
  let link: NatsLink | undefined;
  let checkpointStore: CheckpointStore | undefined;
  let view: EventualStateView;
  if (natsUrlFrom(flags, env) === undefined) {
    checkpointStore = createFileCheckpointStore({ stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR, job: job.name });
    view = new CheckpointStateView({ job, store: checkpointStore });
  } else {
    const settings = resolveNatsSettings(flags, env);
    link = await connectNats({
      ...settings,
      name: settings.name === 'stator' ? `stator state ${job.name}` : settings.name,
    });
    try {
      checkpointStore = await openJetStreamCheckpointStore({
        job: job.name,
        task: NATS_CHECKPOINT_TASK,
        connection: link.nc,
        create: false,
      });
      view = new CheckpointStateView({ job, store: checkpointStore });
    } catch (error) {
      if (!(error instanceof NoCheckpointBucketsError)) {
        await link.close();
        throw error;
      }
      // No single-process checkpoints: a scaled-out job's are per unit (none at all: every key is absent).
      view = new UnitCheckpointViews({ job, connection: link.nc });
    }
  }
  try {
    const [read] = (await view.read(store, [key])).keys;
    // A --state-dir or cwd where the job never checkpointed reads every key as null: say so, since
    // that null alone looks like "this key has no state".
    if (link === undefined && (await checkpointStore!.readManifest()) === undefined)
      process.stderr.write(
        `stator: no checkpoint of job ${job.name} in ${checkpointStore!.description}: every key reads as null there; ` +
          `is --state-dir the job's (default ${DEFAULT_STATE_DIR})?\n`,
      );
    process.stdout.write(
      `${JSON.stringify({ key, value: read?.value ?? null, ...(read?.etag === undefined ? {} : { etag: read.etag }) })}\n`,
    );
    return ExitCode.OK;
  } catch (error) {
    return stateApiFailure(error);
  } finally {
    await view.close();
    await checkpointStore?.close();
    await link?.close();
  }
}

/**
 * NATS mode without an HTTP server: the request goes to the process that runs the key's partition
 * (request/reply on its subject), the same way a worker's HTTP server forwards it.
 */
async function viaOwner(
  link: NatsLink,
  job: Job,
  action: 'get' | 'put' | 'delete',
  storeName: string,
  key: string,
  value: string | undefined,
  etagText: string | undefined,
): Promise<number> {
  const service = new StateService({
    stores: new StateStores(job),
    owner: new ForwardingStateOwners({ job, link, names: jobStreamNames(job.name) }),
    logger: createLogger('silent'),
  });
  const etag = etagText === undefined ? undefined : parseETag(etagText);
  if (etagText !== undefined && etag === undefined)
    throw new ConfigError(
      `--etag ${JSON.stringify(etagText)} is not an ETag this store gave out: read the key for its ETag (stator state get)`,
    );
  try {
    if (action === 'get') {
      const [read] = await service.get(storeName, [key], 'strong');
      process.stdout.write(
        `${JSON.stringify({ key, value: read?.value ?? null, ...(read?.etag === undefined ? {} : { etag: read.etag }) })}\n`,
      );
      return ExitCode.OK;
    }
    let parsed: Json | undefined;
    if (action === 'put') {
      try {
        parsed = JSON.parse(value!) as Json;
      } catch (error) {
        throw new ConfigError(`--value is not JSON (${(error as Error).message}); e.g. --value '{"count":0}'`);
      }
    }
    const write: StateWrite = {
      op: action === 'put' ? 'upsert' : 'delete',
      key,
      firstWrite: true,
      ...(parsed === undefined ? {} : { value: parsed }),
      ...(etag === undefined ? {} : { etag }),
    };
    await service.write(storeName, [write], false);
    return ExitCode.OK;
  } catch (error) {
    return stateApiFailure(error);
  }
}

/**
 * A refused request as over HTTP, whichever way the command went: the status and the one-line
 * reason; a refused first-write exits 1, any other refusal is a bad argument.
 * @throws the error when it is not the state API's
 */
function stateApiFailure(error: unknown): number {
  if (!(error instanceof StateApiError)) throw error;
  process.stderr.write(`stator: ${error.status}: ${error.message}\n`);
  return error.status === 409 ? ExitCode.FAILED : ExitCode.USAGE;
}

async function overHttp(
  url: string,
  token: string | undefined,
  action: 'get' | 'put' | 'delete',
  store: string,
  key: string,
  value: string | undefined,
  etag: string | undefined,
  consistency: string | undefined,
): Promise<number> {
  if (!URL.canParse(url) || !['http:', 'https:'].includes(new URL(url).protocol))
    throw new ConfigError(
      `--url ${url} is not an http:// or https:// URL; e.g. --url http://127.0.0.1:3500 (--url, else STATOR_URL)`,
    );
  const base = `${url.replace(/\/+$/, '')}/v1.0/state/${encodeURIComponent(store)}`;
  const headers: Record<string, string> = token === undefined || token === '' ? {} : { 'dapr-api-token': token };
  let response: Response;
  try {
    if (action === 'get') {
      response = await fetch(
        `${base}/${encodeURIComponent(key)}${consistency === undefined ? '' : `?consistency=${consistency}`}`,
        { headers },
      );
    } else if (action === 'delete') {
      response = await fetch(`${base}/${encodeURIComponent(key)}`, {
        method: 'DELETE',
        headers: etag === undefined ? headers : { ...headers, 'If-Match': etag },
      });
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value!);
      } catch (error) {
        throw new ConfigError(`--value is not JSON (${(error as Error).message}); e.g. --value '{"count":0}'`);
      }
      response = await fetch(base, {
        method: 'POST',
        headers,
        body: JSON.stringify([{ key, value: parsed, ...(etag === undefined ? {} : { etag }) }]),
      });
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // fetch says only "fetch failed"; why (ECONNREFUSED, ENOTFOUND, a TLS error) is in its cause.
    const reason = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : undefined;
    throw new ConfigError(
      `cannot reach ${url}: ${(error as Error).message}${reason === undefined ? '' : ` (${reason})`}; is the job running with --http there?`,
      { cause: error },
    );
  }
  const text = await response.text();
  if (response.status >= 400) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not our JSON error: print it as it is
    }
    process.stderr.write(`stator: ${response.status}: ${message}\n`);
    return response.status === 409 ? ExitCode.FAILED : ExitCode.USAGE;
  }
  if (action === 'get') {
    const out =
      response.status === 204
        ? { key, value: null }
        : { key, value: JSON.parse(text) as unknown, etag: response.headers.get('etag') ?? undefined };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
  return ExitCode.OK;
}
