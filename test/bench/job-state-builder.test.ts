import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildJobState } from '../../bench/lib/job-state-builder.ts';
import { job } from '../../examples/wordcount.ts';
import { createCheckpoints } from '../../src/checkpoint/index.ts';
import { mergeKeyGroupParts } from '../../src/state/index.ts';
import { createFileCheckpointStore } from '../../runtime/checkpoint/index.ts';
import { killAll, runCli, tempDir } from '../runtime/support/cli.ts';

const tmp = tempDir('job-state-builder');
test.after(() => {
  killAll();
  tmp.remove();
});

function run(input: string, output: string, stateDir: string) {
  return runCli(['run', 'examples/wordcount.ts', '--input', input, '--output', output, '--state-dir', stateDir]);
}

/** The latest checkpoint under `stateDir`, and whether its writer stopped cleanly (as the next run sees it). */
async function latest(stateDir: string) {
  const store = createFileCheckpointStore({ stateDir, job: job.name });
  const checkpoints = createCheckpoints(store, { jobId: job.name, mergeKeyGroupParts });
  try {
    await checkpoints.acquireLease();
    const loaded = await checkpoints.load();
    assert.ok(loaded !== undefined, `a checkpoint under ${stateDir}`);
    return { descriptor: loaded.descriptor, previousRunStopped: checkpoints.previousRunStopped };
  } finally {
    await checkpoints.close();
    await store.close();
  }
}

/** Each partition's part, by its stage and partition suffix (the name's prefix has a random nonce). */
function parts(stateDir: string): Map<string, Buffer> {
  const dir = join(stateDir, job.name, 'main', 'parts');
  return new Map(
    readdirSync(dir)
      .filter((name) => !name.endsWith('-descriptor'))
      .map((name) => [name.replace(/^c\d+-[0-9a-f]+-/, ''), readFileSync(join(dir, name))]),
  );
}

const sorted = (path: string) => readFileSync(path, 'utf8').trim().split('\n').sort();

test('the built state is the one a stator run over the same input leaves: same parts, positions, sink records and lease', async () => {
  // 3,000 words over 300 lines, 1,000 distinct: counts up to 3.
  const input = join(tmp.dir, 'in.txt');
  const lines: string[] = [];
  for (let line = 0; line < 300; line++)
    lines.push(Array.from({ length: 10 }, (_, i) => `w${((line * 10 + i) * 7) % 1000}`).join(' '));
  writeFileSync(input, `${lines.join('\n')}\n`);

  const ran = await run(input, join(tmp.dir, 'run.jsonl'), join(tmp.dir, 'run-state'));
  assert.is(ran.code, 0, ran.stderr);
  const built = await buildJobState({
    job,
    input,
    output: join(tmp.dir, 'built.jsonl'),
    stateDir: join(tmp.dir, 'built-state'),
  });
  assert.is(built.keys, 1000);
  assert.is(built.outputs, 3000);

  assert.equal(sorted(join(tmp.dir, 'built.jsonl')), sorted(join(tmp.dir, 'run.jsonl')));
  const ranParts = parts(join(tmp.dir, 'run-state'));
  const builtParts = parts(join(tmp.dir, 'built-state'));
  assert.equal([...builtParts.keys()].sort(), [...ranParts.keys()].sort());
  for (const [name, bytes] of ranParts) assert.ok(bytes.equals(builtParts.get(name)!), `part ${name} is the same`);

  const r = await latest(join(tmp.dir, 'run-state'));
  const b = await latest(join(tmp.dir, 'built-state'));
  const comparable = ({ descriptor: d, previousRunStopped }: typeof r) => ({
    kind: d.kind,
    inputs: d.inputs,
    sinks: Object.fromEntries(Object.entries(d.sinks).map(([k, v]) => [k, new TextDecoder().decode(v)])),
    maxKeyGroups: d.maxKeyGroups,
    parallelism: d.parallelism,
    stats: d.stats,
    partitions: d.partitions.map((p) => ({ stage: p.stage, partition: p.partition, keyGroups: p.keyGroups.size })),
    previousRunStopped,
  });
  assert.equal(comparable(b), comparable(r));
});

test('a stator run restarted on a built state goes on counting from it', async () => {
  const input = join(tmp.dir, 'restart.txt');
  writeFileSync(input, 'a b c\nb c\nc\n');
  const output = join(tmp.dir, 'restart.jsonl');
  const stateDir = join(tmp.dir, 'restart-state');
  await buildJobState({ job, input, output, stateDir });
  copyFileSync(output, join(tmp.dir, 'restart-before.jsonl'));
  appendFileSync(input, 'c a\n');
  const ran = await run(input, output, stateDir);
  assert.is(ran.code, 0, ran.stderr);
  const added = readFileSync(output, 'utf8').slice(readFileSync(join(tmp.dir, 'restart-before.jsonl')).length);
  // One output per word; the two partitions' outputs interleave in any order.
  assert.equal(added.trim().split('\n').sort(), ['{"word":"a","count":2}', '{"word":"c","count":4}']);
  assert.match(ran.stderr, /restored checkpoint 1/);
});

test.run();
