import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, tempDir } from './support/cli.ts';
import { crashTest } from './support/crash.ts';

const tmp = tempDir('pipeline');
test.after(() => {
  killAll();
  tmp.remove();
});

function corpus(lineCount: number): string {
  let x = 3;
  const out: string[] = [];
  for (let i = 0; i < lineCount; i++) {
    const words: string[] = [];
    for (let j = 0; j < 6; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      words.push(`w${x % 2000}`);
    }
    out.push(words.join(' '));
  }
  return out.join('\n') + '\n';
}

test('two parallel keyed stages: SIGKILL at random moments, then finishing, gives the clean run output byte for byte', async () => {
  const input = join(tmp.dir, 'in.txt');
  writeFileSync(input, corpus(100_000));
  const { killed } = await crashTest({
    module: 'test/runtime/fixtures/two-stage-job.ts',
    input,
    dir: tmp.dir,
    kills: 4,
  });
  assert.ok(killed > 0);
});

test.run();
