// /metrics and /readyz of a real `stator run --http` process, embedded and NATS mode: the exposition
// is parsed with a Prometheus text-format parser and its values must move as input is processed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNatsServer } from '../support/nats-server.ts';
import { waitFor } from '../support/wait-for.ts';
import { connectNats, ensureSubjectStream } from '../../runtime/nats/index.ts';
import { readinessOf } from '../../runtime/readiness.ts';
import { killAll, root, startCli, tempDir } from './support/cli.ts';
import { httpUrlOf } from './support/http.ts';
import { scrape } from './support/metrics.ts';
import type { Scrape } from './support/metrics.ts';

const tmp = tempDir('job-endpoints');
test.after(() => {
  killAll();
  tmp.remove();
});

const job = { job_name: 'wordcount' };

async function readyz(url: string): Promise<{ status: number; body: { status: string } }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string } };
}

/** Scrapes until `condition` holds on a scrape; returns that scrape. */
async function scrapeUntil(url: string, what: string, condition: (s: Scrape) => boolean): Promise<Scrape> {
  let last: Scrape | undefined;
  await waitFor(async () => condition((last = await scrape(url))), what);
  return last!;
}

/** What every scrape of a running wordcount must show, whatever the mode. */
function assertWellFormed(s: Scrape): void {
  for (const [name, family] of s.families) {
    if (!name.startsWith('stator_')) continue;
    assert.ok(family.help.length > 0, `${name} has no help`);
    if (family.type === 'COUNTER') assert.ok(name.endsWith('_total'), `counter ${name} must end in _total`);
    if (family.type === 'HISTOGRAM') continue; // the parser drops a histogram's labels (support/metrics.ts)
    for (const sample of family.metrics) {
      assert.is(sample.labels?.job_name, 'wordcount', `${name} lacks job_name`);
      assert.not.ok(
        sample.labels !== undefined && 'job' in sample.labels,
        `${name} uses the label job, which Prometheus overwrites`,
      );
    }
  }
  // prom-client's default Node.js metrics are there too.
  assert.ok(s.families.has('nodejs_eventloop_lag_seconds'), 'default metrics missing');
  assert.ok(s.families.has('process_cpu_seconds_total'), 'default metrics missing');
  assert.is(s.value('stator_lifecycle_state', { ...job, state: 'running' }), 1);
  assert.is(s.family('stator_turn_duration_seconds').type, 'HISTOGRAM');
  assert.is(s.family('stator_checkpoint_duration_seconds').type, 'HISTOGRAM');
}

/** Every stator metric is in docs/operations.md, and the Grafana dashboard asks only for metrics that exist. */
function assertDocumented(s: Scrape): void {
  const docs = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
  const names = [...s.families.keys()].filter((name) => name.startsWith('stator_'));
  for (const name of names) assert.ok(docs.includes(`\`${name}`), `${name} is not documented in docs/operations.md`);
  const dashboard = readFileSync(join(root, 'docs', 'grafana-dashboard.json'), 'utf8');
  JSON.parse(dashboard);
  for (const [used] of dashboard.matchAll(/stator_[a-z_]+/g)) {
    const name = used.replace(/_(bucket|sum|count)$/, '');
    assert.ok(s.families.has(name), `the dashboard uses ${used}, which /metrics does not have`);
  }
}

test('embedded: /metrics moves with the input, /readyz is 200 while running', async () => {
  const input = join(tmp.dir, 'in.txt');
  writeFileSync(input, 'alpha beta\ngamma\n');
  const run = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'out.jsonl'),
    '--state-dir',
    join(tmp.dir, 'state'),
    '--follow',
    '--checkpoint-interval',
    '200',
    '--http',
    '127.0.0.1:0',
  ]);
  const url = await httpUrlOf(run.child);
  await waitFor(async () => (await readyz(url)).status === 200, '/readyz 200');
  assert.equal((await readyz(url)).body.status, 'running');

  const first = await scrapeUntil(
    url,
    'two lines counted',
    (s) => s.value('stator_messages_in_total', { ...job, stage: 'count' }) === 3,
  );
  assertWellFormed(first);
  assert.is(first.value('stator_input_messages_total', { ...job, source: 'in' }), 2);

  appendFileSync(input, 'alpha delta epsilon\n');
  appendFileSync(input, Buffer.from([0x63, 0x61, 0x66, 0xff, 0x0a])); // not UTF-8: a dead letter
  const second = await scrapeUntil(
    url,
    'four lines read and a checkpoint of them',
    (s) =>
      s.value('stator_messages_in_total', { ...job, stage: 'count' }) === 6 &&
      s.value('stator_checkpoints_total', job)! > 0 &&
      s.value('stator_input_lag_bytes', job) === 0,
  );
  assertWellFormed(second);
  assert.is(second.value('stator_input_messages_total', job), 4);
  assert.ok(
    second.value('stator_messages_out_total', { ...job, stage: 'count' })! >
      first.value('stator_messages_out_total', { ...job, stage: 'count' })!,
  );
  assert.is(second.value('stator_dead_letters_total', { ...job, stage: 'in' }), 1);
  assert.is(second.value('stator_state_keys', { ...job, stage: 'count' }), 5, 'alpha beta gamma delta epsilon');
  assert.ok(second.value('stator_input_position', job)! > first.value('stator_input_position', job)!);
  // Processing-time ticks pass through the mailboxes too: a scrape may see one waiting.
  const depths = second.samples('stator_mailbox_depth', { ...job, stage: 'count' });
  assert.equal(depths.map((d) => d.labels?.partition).sort(), ['0', '1']);
  for (const depth of depths)
    assert.ok(Number(depth.value) >= 0 && Number(depth.value) <= 2, `mailbox depth ${depth.value}`);
  assert.is(second.value('stator_checkpoint_failures_total', job), 0);
  assert.ok(second.value('stator_checkpoint_written_bytes_total', job)! > 0);
  const age = second.value('stator_checkpoint_age_seconds', job)!;
  assert.ok(age >= 0 && age < 60, `checkpoint age ${age}`);
  // Ingestion time: the watermark is a recent wall-clock time on every partition that saw a marker.
  const watermarks = second.samples('stator_watermark_timestamp_seconds', { ...job, stage: 'count' });
  assert.ok(watermarks.length > 0, 'no watermark');
  for (const w of watermarks) assert.ok(Math.abs(Number(w.value) - Date.now() / 1000) < 600, `watermark ${w.value}`);
  assert.ok(second.observations('stator_checkpoint_duration_seconds') > 0);
  assert.match(second.text, /^stator_turn_duration_seconds_count\{job_name="wordcount",stage="count"\} \d+$/m);

  assertDocumented(second);

  run.child.kill('SIGTERM');
  const result = await run.done;
  assert.is(result.code, 0, result.stderr);
});

test('NATS: /metrics moves with published input; NATS away makes /readyz 503 and counts the reconnect', async () => {
  await using server = await startNatsServer();
  {
    await using link = await connectNats({ nats: server.url });
    await ensureSubjectStream(await link.jetstreamManager(), 'wordcount.in', { defaultName: 'WORDCOUNT_IN' });
  }
  const run = startCli([
    'run',
    'examples/wordcount.ts',
    '--nats',
    server.url,
    '--checkpoint-interval',
    '200',
    '--max-outage',
    '60s',
    '--http',
    '127.0.0.1:0',
  ]);
  const url = await httpUrlOf(run.child);
  await waitFor(async () => (await readyz(url)).status === 200, '/readyz 200');
  const publish = async (lines: (string | Uint8Array)[]): Promise<void> => {
    await using link = await connectNats({ nats: server.url });
    for (const line of lines)
      await link.js.publish('wordcount.in', typeof line === 'string' ? new TextEncoder().encode(line) : line);
  };
  await publish(['alpha beta', 'gamma']);
  const first = await scrapeUntil(
    url,
    'two messages counted',
    (s) => s.value('stator_messages_in_total', { ...job, stage: 'count' }) === 3,
  );
  assertWellFormed(first);
  assert.is(first.value('stator_nats_connected', job), 1);
  assert.is(first.value('stator_nats_reconnects_total', job), 0);
  assert.is(first.value('stator_input_messages_total', job), 2);

  await publish(['alpha delta epsilon', Uint8Array.from([0x63, 0x61, 0x66, 0xff])]);
  const second = await scrapeUntil(
    url,
    'four messages read and checkpointed',
    (s) =>
      s.value('stator_messages_in_total', { ...job, stage: 'count' }) === 6 &&
      s.value('stator_checkpoints_total', job)! > 0 &&
      s.value('stator_input_lag_messages', job) === 0,
  );
  assertWellFormed(second);
  assert.is(second.value('stator_input_messages_total', job), 4);
  assert.is(second.value('stator_dead_letters_total', { ...job, stage: 'in' }), 1);
  assert.is(second.value('stator_state_keys', { ...job, stage: 'count' }), 5);
  assert.is(second.value('stator_input_position', job), 4, 'the stream sequence of the last message');

  await server.kill();
  await waitFor(async () => (await readyz(url)).status === 503, '/readyz 503 while NATS is away');
  assert.match((await readyz(url)).body.status, /^nats-/);
  assert.is((await scrape(url)).value('stator_nats_connected', job), 0);
  await server.restart();
  await waitFor(async () => (await readyz(url)).status === 200, '/readyz 200 after the reconnect');
  const third = await scrapeUntil(
    url,
    'the reconnect counted',
    (s) => s.value('stator_nats_reconnects_total', job) === 1,
  );
  assert.is(third.value('stator_nats_connected', job), 1);

  run.child.kill('SIGTERM');
  const result = await run.done;
  assert.is(result.code, 0, result.stderr);
});

test('readiness: only a running job with its connection up is ready', () => {
  const up = { state: 'connected' as const, events$: { subscribe: () => ({ unsubscribe() {} }) } } as never;
  const down = { state: 'reconnecting' as const, events$: { subscribe: () => ({ unsubscribe() {} }) } } as never;
  assert.ok(readinessOf('running', undefined).ready);
  assert.ok(readinessOf('running', up).ready);
  assert.is(readinessOf('running', down).status, 'nats-reconnecting');
  for (const state of ['created', 'restoring', 'draining', 'stopped', 'failed'] as const) {
    const readiness = readinessOf(state, undefined);
    assert.not.ok(readiness.ready, state);
    assert.is(readiness.status, state);
  }
});

test.run();
