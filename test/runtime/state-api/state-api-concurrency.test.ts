// 20 clients race first-write updates of one key while messages for it stream in (embedded mode; the race:
// first-write-race.ts).
import { test } from 'uvu';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createRuntime, files } from '../../../runtime/index.ts';
import { startHttpServer } from '../../../runtime/http/index.ts';
import { job as wordcount } from '../../../examples/wordcount.ts';
import { raceFirstWrites } from './first-write-race.ts';

const dir = mkdtempSync(join(tmpdir(), 'stator-state-race-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('first-write races: exactly the expected writes succeed, none is lost, counts add up with the messages', async () => {
  const logger = createLogger('silent');
  const input = join(dir, 'in.txt');
  writeFileSync(input, 'k\n');
  const http = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
  const runtime = createRuntime({
    job: wordcount,
    transport: files({ input, output: join(dir, 'out.jsonl'), stateDir: join(dir, 'state'), follow: true }),
    logger,
    http,
  });
  const running = runtime.run();
  try {
    await raceFirstWrites(`${http.url}/v1.0/state/wordcount`, async (messages) =>
      appendFileSync(input, 'k\n'.repeat(messages)),
    );
  } finally {
    await runtime.stop();
    await running;
    await http.close();
  }
});

test.run();
