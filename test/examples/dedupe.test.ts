import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, root, runCli, tempDir } from '../runtime/support/cli.ts';

const tmp = tempDir('dedupe');
test.after(() => {
  killAll();
  tmp.remove();
});

interface Event {
  user: string;
  eventId: string;
  action: string;
}

const parse = (text: string): Event[] =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Event);

test('dedupe emits each event id once per user, first delivery first, in input order', async () => {
  const input = join(root, 'examples/data/events.jsonl');
  const output = join(tmp.dir, 'out.jsonl');
  const result = await runCli([
    'run',
    'examples/dedupe.ts',
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    join(tmp.dir, 'state'),
  ]);
  assert.is(result.code, 0, result.stderr);
  const events = parse(readFileSync(input, 'utf8'));
  const seen = new Set<string>();
  const expected = events.filter((e) => {
    const id = `${e.user}/${e.eventId}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  assert.ok(expected.length < events.length, 'the sample has redeliveries');
  assert.equal(parse(readFileSync(output, 'utf8')), expected);
});

test.run();
