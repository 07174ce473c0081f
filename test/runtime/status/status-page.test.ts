// The status page in a real browser (Debian's chromium, driven by playwright-core) against a running
// `stator run --http` job: the partitions render, numbers change as input arrives, a dead letter
// shows up, and the page logs no console error. A screenshot is saved in the test's temp dir.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { waitFor } from '../../support/wait-for.ts';
import { killAll, startCli } from '../support/cli.ts';
import { httpUrlOf } from '../support/http.ts';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'stator-status-page-'));
let context: BrowserContext | undefined;

test.after(async () => {
  await context?.close();
  killAll();
  // The screenshot stays for a look; everything else goes.
  for (const name of ['in.txt', 'out.jsonl', 'out.jsonl.dead.jsonl', 'state', 'profile'])
    rmSync(join(dir, name), { recursive: true, force: true });
});

/** The numbers in the partitions table's "In" column, by stage and partition. */
async function messagesIn(page: Page): Promise<number> {
  const cells = await page
    .getByRole('table', { name: 'Partitions' })
    .locator('tbody tr td:nth-child(5)')
    .allTextContents();
  return cells.reduce((sum, text) => sum + Number(text.replace(/[^\d]/g, '')), 0);
}

test('the status page shows a running job: partitions, moving numbers, a dead letter, no console error', async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  const input = join(dir, 'in.txt');
  writeFileSync(input, 'alpha beta\ngamma alpha\n');
  const run = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(dir, 'out.jsonl'),
    '--state-dir',
    join(dir, 'state'),
    '--follow',
    '--checkpoint-interval',
    '200',
    '--http',
    '127.0.0.1:0',
  ]);
  const url = await httpUrlOf(run.child);

  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`),
  );

  const response = await page.goto(url);
  assert.is(response?.status(), 200);
  await page.getByRole('heading', { level: 1, name: /wordcount/ }).waitFor();
  const partitions = page.getByRole('table', { name: 'Partitions' });
  // wordcount's counting stage has two partitions; four words reached them.
  const messagesRead = page.locator('#messages-read');
  await waitFor(
    async () => (await partitions.getByRole('cell', { name: 'count', exact: true }).count()) === 2,
    'two partitions of count',
  );
  await waitFor(
    async () => (await messagesRead.textContent()) === '2' && (await messagesIn(page)) === 4,
    'two lines, four words',
  );
  assert.is(await page.getByRole('status').textContent(), 'running');

  appendFileSync(input, 'delta epsilon alpha\n');
  appendFileSync(input, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])); // latin-1 "café": not UTF-8, a dead letter
  await waitFor(
    async () => (await messagesRead.textContent()) === '4' && (await messagesIn(page)) === 7,
    'the numbers moved with the input',
  );

  const deadLetters = page.getByRole('table', { name: 'Recent dead letters' });
  await deadLetters.getByRole('cell', { name: /not valid UTF-8/ }).waitFor();
  assert.is(await page.locator('#dead-letter-total').textContent(), '1');
  await waitFor(
    async () => /^#\d+/.test((await page.locator('#checkpoint').textContent()) ?? ''),
    'a checkpoint shown',
  );

  const caption = page.locator('#throughput-caption');
  await waitFor(
    async () => /^Messages read per second/.test((await caption.textContent()) ?? ''),
    'a throughput sample',
  );
  assert.ok((await page.locator('#throughput-chart polyline').count()) === 1, 'the chart is drawn');
  const screenshot = join(dir, 'status-page.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`status page screenshot: ${screenshot}`);
  assert.equal(problems, []);

  await context.close();
  context = undefined;
  run.child.kill('SIGTERM');
  const result = await run.done;
  assert.is(result.code, 0, result.stderr);
});

test.run();
