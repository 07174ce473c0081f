import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { assertSubject, jobStreamNames, subjectStreamName } from '../../runtime/nats/index.ts';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

test('a job names its exchange, dead-letter streams and subjects from the job and stage names', () => {
  const names = jobStreamNames('word-count');
  assert.is(names.exchangeStream('count'), 'STATOR_WORD_COUNT_COUNT');
  assert.equal(names.exchangeSubjects('count'), ['stator.word-count.count.*']);
  assert.is(names.exchangeSubject('count', 7), 'stator.word-count.count.p7');
  assert.is(names.deadLetterStream, 'STATOR_WORD_COUNT_DLQ');
  assert.is(names.deadLetterSubject('count'), 'stator.word-count.dlq.count');
  assert.is(names.stateLogStream('count-x', 1), 'STATOR_WORD_COUNT_STATE_COUNT_X_P1');
  assert.is(names.stateLogSubject('count', 1), 'stator.word-count.state-log.count.p1');
  assert.is(names.stateLogSubjects, 'stator.word-count.state-log.>');
  assert.is(names.stateCommandStream, 'STATOR_WORD_COUNT_STATE');
  assert.equal(names.stateCommandSubjects, ['stator.word-count.state.*.*']);
  assert.is(names.stateCommandSubject('count', 1), 'stator.word-count.state.count.p1');
  assert.is(names.stateRequestSubject('count', 1), 'stator.word-count.state-api.count.p1');
});

test('names that would break subjects are refused: dots, wildcards, spaces, the reserved stages "dlq" and "state"', () => {
  assert.is(
    codeOf(() => jobStreamNames('word.count')),
    'NATS_INVALID_NAME',
  );
  assert.is(
    codeOf(() => jobStreamNames('a b')),
    'NATS_INVALID_NAME',
  );
  assert.is(
    codeOf(() => jobStreamNames('ok').exchangeStream('x*')),
    'NATS_INVALID_NAME',
  );
  assert.is(
    codeOf(() => jobStreamNames('ok').exchangeStream('dlq')),
    'NATS_INVALID_NAME',
  );
  assert.is(
    codeOf(() => jobStreamNames('ok').exchangeStream('State')),
    'NATS_INVALID_NAME',
  );
  assert.is(
    codeOf(() => jobStreamNames('ok').exchangeSubject('count', -1)),
    'NATS_INVALID_NAME',
  );
});

test('a subject maps to an upper-case stream name', () => {
  assert.is(subjectStreamName('wordcount.in'), 'WORDCOUNT_IN');
  assert.is(subjectStreamName('orders.*.created'), 'ORDERS_CREATED');
  assert.is(
    codeOf(() => assertSubject('a..b')),
    'NATS_INVALID_NAME',
  );
  assert.is(
    codeOf(() => assertSubject('a.>')),
    'NATS_INVALID_NAME',
  );
  assert.is(
    codeOf(() => assertSubject('a.>', true)),
    undefined,
  );
  assert.is(
    codeOf(() => assertSubject('a.>.b', true)),
    'NATS_INVALID_NAME',
  );
});

test('stream names derived from valid subjects never contain characters JetStream forbids', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
  fc.assert(
    fc.property(fc.array(token, { minLength: 1, maxLength: 5 }), (tokens) => {
      const name = subjectStreamName(tokens.join('.'));
      return !/[.*> \t\r\n/\\]/.test(name);
    }),
  );
});

test.run();
