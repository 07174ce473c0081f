import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatefulTask, StringUtf8Coder, TaskLifecycleError } from '../../../src/index.ts';
import type { Message, ProcessContext, TaskContext } from '../../../src/index.ts';
import { TaskHarness } from '../../../src/testing.ts';
import { createLogger, createRuntime, defineJob, files, json, lines } from '../../../runtime/index.ts';
import { openDirectoryFiles } from '../../../runtime/files/directory-files.ts';

const dir = mkdtempSync(join(tmpdir(), 'stator-ctx-files-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Puts a greeting into the file area on open() unless it is there; prefixes each message with it. */
class Greeter extends StatefulTask<string, string> {
  static builds = 0;
  private greeting = '';
  override async open(ctx: TaskContext): Promise<void> {
    if ((await ctx.files.stat('greeting.txt')) === undefined) {
      Greeter.builds++;
      await ctx.files.put('greeting.txt', 'hello', { expectedDigest: null });
    }
    this.greeting = Buffer.from(await ctx.files.get('greeting.txt')).toString();
  }
  override invoke(message: Message<string, string>, ctx: ProcessContext<string, string>): void {
    ctx.emit(`${this.greeting} ${message.value}`);
  }
}

const job = defineJob({ name: 'greeter' })
  .source(lines())
  .keyBy((line) => line, StringUtf8Coder.of())
  .process(() => new Greeter())
  .sink(json<string>());

test('ctx.files in an embedded run: the file put in open() is under <state-dir>/<job>/files and the next run reuses it', async () => {
  const input = join(dir, 'in.txt');
  writeFileSync(input, 'ann\nbob\n');
  const stateDir = join(dir, 'state');
  const output = join(dir, 'out.jsonl');
  const run = () =>
    createRuntime({ job, transport: files({ input, output, stateDir }), logger: createLogger('silent') }).run();
  await run();
  assert.is(Greeter.builds, 1);
  assert.is(readFileSync(join(stateDir, 'greeter', 'files', 'greeting.txt'), 'utf8'), 'hello');
  assert.equal(readFileSync(output, 'utf8').trim().split('\n').sort(), ['"hello ann"', '"hello bob"']);
  writeFileSync(input, 'ann\nbob\ncy\n');
  await run();
  assert.is(Greeter.builds, 1);
  assert.equal(readFileSync(output, 'utf8').trim().split('\n').sort(), ['"hello ann"', '"hello bob"', '"hello cy"']);
});

test('TaskHarness: ctx.files is the area passed as `files`; without one it is a TaskLifecycleError saying what to pass', async () => {
  await using area = await openDirectoryFiles({ dir: join(dir, 'harness', 'files') });
  const harness = TaskHarness.of(() => new Greeter(), { keyCoder: StringUtf8Coder.of(), files: area });
  await harness.open();
  await harness.process('k', 'k', 1);
  assert.equal(harness.outputValues(), ['hello k']);
  assert.ok((await area.stat('greeting.txt')) !== undefined);

  const bare = TaskHarness.of(() => new Greeter(), { keyCoder: StringUtf8Coder.of() });
  try {
    await bare.open();
    assert.unreachable();
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    assert.instance(cause, TaskLifecycleError);
    assert.match((cause as Error).message, /the `files` option/);
  }
});

test.run();
