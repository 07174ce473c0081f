// examples/produce.ts --partitions: each line goes to <subject>.<partitionOf(key, n)>, the key being a
// JSON field of the line; without the flag it publishes to the subject itself, as before.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { partitionOf } from '../../runtime/client.ts';
import { connectNats, openStreamSource } from '../../runtime/nats/index.ts';
import { startNatsServer } from '../support/nats-server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

test('produce --partitions 3 --key-field user publishes each line to its user partition; plain stays plain', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stator-produce-'));
  try {
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'zoë'];
    const lines = users.flatMap((user, i) => [0, 1].map((n) => JSON.stringify({ user, n: i * 2 + n })));
    writeFileSync(join(dir, 'in.jsonl'), lines.join('\n') + '\n');
    await using server = await startNatsServer();
    const produce = (extra: string[]): Promise<unknown> =>
      run(
        process.execPath,
        ['--import', 'tsx', 'examples/produce.ts', '--nats', server.url, '--subject', 'views.in', ...extra],
        { cwd: root, env: { ...process.env, NATS_URL: '' } },
      );
    await produce(['--file', join(dir, 'in.jsonl'), '--partitions', '3', '--key-field', 'user']);
    await produce(['--file', join(dir, 'in.jsonl')]);
    await using link = await connectNats({ nats: server.url });
    await using source = await openStreamSource(link, { stream: 'VIEWS_IN', filterSubject: 'views.in.>', startSeq: 1 });
    const partitioned: string[] = [];
    while (partitioned.length < lines.length)
      for (const record of (await source.nextBatch()) ?? []) partitioned.push(record.subject);
    assert.equal(
      partitioned,
      lines.map((line) => `views.in.${partitionOf((JSON.parse(line) as { user: string }).user, 3)}`),
    );
    const jsm = await link.jetstreamManager();
    const info = await jsm.streams.info('VIEWS_IN', { subjects_filter: 'views.in' });
    assert.equal(info.state.subjects, { 'views.in': lines.length }, 'the plain run published to views.in itself');

    const bad = await produce(['--file', join(dir, 'in.jsonl'), '--partitions', '3', '--key-field', 'nope']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    assert.is(bad?.code, 1);
    assert.match(bad!.stderr, /--key-field nope: not a JSON object with that field/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
