// The disk backend under the examples whose state is more than a ValueState per key, SIGKILLed at
// random moments with a budget far below their keys (most keys evicted to the local store and read
// back): fraud (OrderedListState, CombiningState, MapState, event-time timers) and sessions (merging
// session windows: window namespaces, BagState merged by StateMerging, watermark-driven timers).
// The killed disk runs, finished, must give a clean heap run's output byte for byte.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, tempDir } from '../runtime/support/cli.ts';
import { crashTest } from '../runtime/support/crash.ts';
import { generatedClicks, generatedTransactions } from '../examples/support/generated-input.ts';

const tmp = tempDir('disk-backend-examples');
test.after(() => {
  killAll();
  tmp.remove();
});

/** Room for a few dozen keys per partition: thousands of cards and users do not fit. */
const DISK = ['--state-backend', 'disk', '--state-memory', '32KiB'];

test("fraud: SIGKILLed disk runs, finished, give a clean heap run's alerts (both rules)", async () => {
  const dir = join(tmp.dir, 'fraud');
  mkdirSync(dir);
  const input = join(tmp.dir, 'transactions.jsonl');
  writeFileSync(input, generatedTransactions(80_000));
  const { killed, clean } = await crashTest({ module: 'examples/fraud.ts', input, dir, kills: 2, crashedArgs: DISK });
  assert.ok(killed > 0, 'at least one run was killed');
  const rules = new Set(
    readFileSync(clean, 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { rule: string }).rule),
  );
  assert.equal([...rules].sort(), ['burst', 'unusual-merchant'], 'the reference exercises both rules');
});

test("sessions: SIGKILLed disk runs, finished, give a clean heap run's sessions", async () => {
  const dir = join(tmp.dir, 'sessions');
  mkdirSync(dir);
  const input = join(tmp.dir, 'clicks.jsonl');
  writeFileSync(input, generatedClicks(120_000));
  const { killed } = await crashTest({ module: 'examples/sessions.ts', input, dir, kills: 2, crashedArgs: DISK });
  assert.ok(killed > 0, 'at least one run was killed');
});

test.run();
