// The logger's two formats (text, json via pino), and `stator run --log-format json` as a real
// process: every line is one JSON object with time, level, msg and job; credentials never appear.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../runtime/log.ts';
import { redactCredentials } from '../../runtime/redact.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { embeddedRunArgs, killAll, runCli, startCli, tempDir, waitForOutput } from './support/cli.ts';

const tmp = tempDir('log');
test.after(() => {
  killAll();
  tmp.remove();
});

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

interface JsonLine {
  time: string;
  level: string;
  msg: string;
  job?: string;
  [field: string]: unknown;
}

function jsonLines(text: string): JsonLine[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      try {
        return JSON.parse(line) as JsonLine;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
}

test('redactCredentials hides the userinfo of every URL and nothing else', () => {
  assert.is(
    redactCredentials('on NATS nats://app:s3cret@h1:4222,tls://tok@h2:4222 ok'),
    'on NATS nats://***@h1:4222,tls://***@h2:4222 ok',
  );
  assert.is(redactCredentials('mail me at a@b.c; nats://h:4222'), 'mail me at a@b.c; nats://h:4222');
});

test('json: one object per line with time, level, msg, bindings and fields; below the level nothing', () => {
  const out = capture();
  const log = createLogger('info', out.stream as unknown as NodeJS.WriteStream, {
    format: 'json',
    bindings: { job: 'wordcount' },
  });
  log.debug('not shown');
  log.info('checkpoint 3 written', { checkpointId: 3, stage: 'count', partition: 1 });
  log.warn('connecting to nats://app:s3cret@127.0.0.1:4222', { url: 'nats://app:s3cret@127.0.0.1:4222' });
  const lines = jsonLines(out.text());
  assert.is(lines.length, 2);
  const [info, warn] = lines as [JsonLine, JsonLine];
  assert.is(info.level, 'info');
  assert.is(info.msg, 'checkpoint 3 written');
  assert.is(info.job, 'wordcount');
  assert.is(info.stage, 'count');
  assert.is(info.partition, 1);
  assert.is(info.checkpointId, 3);
  assert.ok(!Number.isNaN(Date.parse(info.time)) && info.time.endsWith('Z'), `time ${info.time}`);
  assert.is(warn.level, 'warn');
  assert.not.ok(out.text().includes('s3cret'));
  assert.is(warn.msg, 'connecting to nats://***@127.0.0.1:4222');
  assert.is(warn.url, 'nats://***@127.0.0.1:4222');
});

test('text: the line as before, credentials redacted', () => {
  const out = capture();
  const log = createLogger('info', out.stream as unknown as NodeJS.WriteStream);
  log.info('on nats://u:p@h:1', { ignored: true });
  assert.match(out.text(), /^\d{4}-\d\d-\d\dT[\d:.]+Z info {2}on nats:\/\/\*\*\*@h:1\n$/);
});

test('stator run --log-format json: JSON lines only, a dead letter with its stage, the job on every line', async () => {
  const input = join(tmp.dir, 'in.txt');
  writeFileSync(
    input,
    Buffer.concat([Buffer.from('alpha beta\n'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), Buffer.from('gamma\n')]),
  );
  const result = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'out.jsonl'),
    '--state-dir',
    join(tmp.dir, 'state'),
    '--log-format',
    'json',
  ]);
  assert.is(result.code, 0, result.stderr);
  const lines = jsonLines(result.stderr);
  assert.ok(lines.length > 3);
  for (const line of lines) assert.is(line.job, 'wordcount', JSON.stringify(line));
  const deadLetter = lines.find((line) => line.msg.startsWith('dead letter'));
  assert.ok(deadLetter !== undefined, result.stderr);
  assert.is(deadLetter.level, 'warn');
  assert.is(deadLetter.stage, 'in');
  assert.is(deadLetter.position, 11);
  const checkpoint = lines.find((line) => typeof line.checkpointId === 'number');
  assert.ok(checkpoint !== undefined && typeof checkpoint.bytesWritten === 'number', result.stderr);
});

test('stator run --log-format json: a fatal error is one JSON line with its exit code, not a plain line', async () => {
  const result = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    join(tmp.dir, 'missing.txt'),
    '--output',
    join(tmp.dir, 'o.jsonl'),
    '--state-dir',
    join(tmp.dir, 's2'),
    '--log-format',
    'json',
  ]);
  assert.is(result.code, 2, result.stderr);
  const lines = jsonLines(result.stderr);
  const fatal = lines.at(-1)!;
  assert.is(fatal.level, 'error');
  assert.match(fatal.msg, /cannot read input/);
  assert.is(fatal.exitCode, 2);
  assert.is(fatal.code, 'CONFIG_ERROR');
});

test("stator run --log-format json: a fatal error of the job's own code carries its code and where the job threw", async () => {
  const result = await runCli(
    embeddedRunArgs(
      {
        job: 'test/runtime/fixtures/factory-throws-job.ts',
        input: 'examples/data/sample.txt',
        output: join(tmp.dir, 'factory-throws.jsonl'),
        stateDir: join(tmp.dir, 'factory-throws-state'),
      },
      ['--log-format', 'json'],
    ),
  );
  assert.is(result.code, 1, result.stderr);
  const fatal = jsonLines(result.stderr).at(-1)!;
  assert.is(fatal.level, 'error');
  assert.is(fatal.msg, 'the task factory of stage broken threw: the task factory failed');
  assert.is(fatal.code, 'TASK_FACTORY_FAILED');
  assert.is(fatal.exitCode, 1);
  assert.match(
    String(fatal.stack),
    /^Error: the task factory failed\n\s+at (?:\S+\.)?brokenTask \(.*factory-throws-job\.ts:\d+:\d+\)/,
  );
});

test('a bad --log-format is exit code 2 naming the choices', async () => {
  const result = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    'x',
    '--output',
    join(tmp.dir, 'o3.jsonl'),
    '--log-format',
    'yaml',
  ]);
  assert.is(result.code, 2);
  assert.match(result.stderr, /--log-format yaml is unknown; use text .* or json/);
});

test('NATS credentials in --nats never reach the log, text or json', async () => {
  await using server = await startNatsServer({ args: ['--user', 'app', '--pass', 's3cret'] });
  const url = server.url.replace('nats://', 'nats://app:s3cret@');
  for (const format of ['text', 'json']) {
    const run = startCli([
      'run',
      'examples/wordcount.ts',
      '--nats',
      url,
      '--log-format',
      format,
      '--http',
      '127.0.0.1:0',
    ]);
    await waitForOutput(run.child, 'starting from the beginning');
    run.child.kill('SIGTERM');
    const result = await run.done;
    assert.is(result.code, 0, result.stderr);
    assert.match(result.stderr, /on NATS \S*127\.0\.0\.1:\d+/, 'the server is named');
    assert.not.ok(result.stderr.includes('s3cret'), result.stderr);
    if (format === 'json') jsonLines(result.stderr);
  }
});

test.run();
