// Logged writes are inputs of every run, served or not: a run without --http carries the command
// log's position in its checkpoints, so a later run with --http does not apply a write again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createRuntime, files } from '../../../runtime/index.ts';
import { startHttpServer } from '../../../runtime/http/index.ts';
import type { HttpServer } from '../../../runtime/http/index.ts';
import { job as wordcount } from '../../../examples/wordcount.ts';
import { waitFor } from '../../support/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'stator-command-log-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger('silent');
const input = join(dir, 'in.txt');
const output = join(dir, 'out.jsonl');

async function withRun(http: HttpServer | undefined, body: () => Promise<void>): Promise<void> {
  const runtime = createRuntime({
    job: wordcount,
    transport: files({ input, output, stateDir: join(dir, 'state'), follow: true }),
    logger,
    ...(http === undefined ? {} : { http }),
  });
  const running = runtime.run();
  try {
    await body();
  } finally {
    await runtime.stop();
    await running;
  }
}

test('a write, a run without the HTTP server, then one with it: the write is applied once', async () => {
  writeFileSync(input, 'w\n');
  const http = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
  const url = `${http.url}/v1.0/state/wordcount`;
  const count = async (): Promise<number | undefined> => {
    const response = await fetch(`${url}/w`);
    return response.status === 200 ? ((await response.json()) as { count: number }).count : undefined;
  };
  try {
    await withRun(http, async () => {
      await waitFor(async () => (await count()) === 1, 'the first message');
      const saved = await fetch(url, { method: 'POST', body: JSON.stringify([{ key: 'w', value: { count: 100 } }]) });
      assert.is(saved.status, 204);
    });
    await withRun(undefined, async () => {
      appendFileSync(input, 'w\n');
      await waitFor(
        () => readFileSync(output, 'utf8').includes('"count":101'),
        'the second message counted after the write',
      );
    });
    await withRun(http, async () => {
      await waitFor(async () => (await count()) !== undefined, 'the third run to answer');
      assert.is(await count(), 101);
    });
  } finally {
    await http.close();
  }
});

test.run();
