import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StringUtf8Coder } from '../../coders/index.ts';
import { StatefulTask, TaskFactoryError } from '../../src/index.ts';
import type { ProcessStep } from '../../runtime/engine/pipeline.ts';
import { newTask } from '../../runtime/task-runners.ts';
import { jobCodeStack, unexpectedErrorDetails } from '../../runtime/cli/unexpected-error.ts';
import { ConfigError } from '../../runtime/errors.ts';

class Counting extends StatefulTask<string, string, string> {
  override invoke(): void {}
}

function step(factory: () => unknown): ProcessStep {
  return {
    kind: 'process',
    name: 'count',
    factory: factory as ProcessStep['factory'],
    parallelism: 1,
    keyCoder: StringUtf8Coder.of(),
  };
}

function factoryError(factory: () => unknown): TaskFactoryError {
  try {
    newTask(step(factory));
  } catch (error) {
    assert.instance(error, TaskFactoryError);
    return error as TaskFactoryError;
  }
  throw new Error('newTask accepted the factory');
}

test('a fresh task from the factory each time', () => {
  const s = step(() => new Counting());
  const a = newTask(s);
  assert.instance(a, Counting);
  assert.is.not(newTask(s), a);
});

test('a factory that throws: TaskFactoryError naming the stage, the error as cause', () => {
  const thrown = new Error('no config at /etc/app.json');
  const error = factoryError(() => {
    throw thrown;
  });
  assert.is(error.code, 'TASK_FACTORY_FAILED');
  assert.is(error.stage, 'count');
  assert.is(error.message, 'the task factory of stage count threw: no config at /etc/app.json');
  assert.is(error.cause, thrown);
});

test('a factory that returns no task says what it returned and what to return', () => {
  assert.match(
    factoryError(() => ({ invoke() {} })).message,
    /returned an object of class Object, not a StatefulTask: .*new MyTask\(\)/,
  );
  assert.match(factoryError(() => Counting).message, /returned the function Counting \(missing `new`\?\)/);
  assert.match(factoryError(() => undefined).message, /returned undefined, not a StatefulTask/);
});

test('a task of another copy of stator (its binding symbol is registered) is accepted', () => {
  const foreign = { [Symbol.for('stator.taskBinding')]: undefined, invoke() {} };
  assert.is(newTask(step(() => foreign)), foreign);
});

test('the CLI reports where the job threw for its own failures, the whole error for unexpected ones, only the message otherwise', () => {
  const thrown = new Error('boom in the constructor');
  const factoryFailed = factoryError(() => {
    throw thrown;
  });
  assert.is(jobCodeStack(factoryFailed), thrown.stack);
  assert.is(unexpectedErrorDetails(factoryFailed), undefined);

  const plain = new Error('timeout', { cause: new Error('socket closed') });
  assert.is(jobCodeStack(plain), undefined);
  const details = unexpectedErrorDetails(plain)!;
  assert.match(details, /^Error: timeout\n\s+at /);
  assert.match(details, /socket closed/);

  const typed = new ConfigError('--input is missing', { cause: new Error('inner') });
  assert.is(jobCodeStack(typed), undefined);
  assert.is(unexpectedErrorDetails(typed), undefined);
});

test.run();
