// The naming scheme of the streams and subjects a job uses. One place, so the runtime, the producer
// example, the docs and an operator's `nats stream ls` agree. See docs/jetstream.md.
import { InvalidNameError } from './errors.ts';

/** A job, stage or subject token: letters, digits, `_` and `-` (no dots, wildcards or spaces). */
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Throws InvalidNameError unless `name` can be used as one subject token and inside a stream name. */
export function assertToken(kind: string, name: string): void {
  if (!TOKEN.test(name)) {
    throw new InvalidNameError(
      `${kind} name ${JSON.stringify(name)} cannot be used in NATS subjects and stream names: ` +
        'use letters, digits, "_" and "-" only (no dots, spaces, "*" or ">")',
    );
  }
}

/**
 * Validates a subject a user gave (input or output): non-empty tokens separated by dots, no spaces.
 * Wildcards are allowed only when `allowWildcards`.
 */
export function assertSubject(subject: string, allowWildcards = false): void {
  const tokens = subject.split('.');
  const bad = tokens.find(
    (token, i) =>
      token === '' ||
      /\s/.test(token) ||
      (!allowWildcards && /[*>]/.test(token)) ||
      (token.includes('>') && (token !== '>' || i !== tokens.length - 1)) ||
      (token.includes('*') && token !== '*'),
  );
  if (bad !== undefined) {
    throw new InvalidNameError(
      `subject ${JSON.stringify(subject)} is not a valid NATS subject${allowWildcards ? '' : ' without wildcards'}: ` +
        'use dot-separated tokens without spaces, e.g. "wordcount.in"',
    );
  }
}

/**
 * The stream stator creates for a user subject (an input it reads or an output it writes) when no
 * stream captures it yet: the subject upper-cased with every other character replaced by `_`,
 * e.g. `wordcount.in` → `WORDCOUNT_IN`.
 */
export function subjectStreamName(subject: string): string {
  assertSubject(subject, true);
  return subject
    .toUpperCase()
    .replace(/[^A-Z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** The streams and subjects of one job. Every name is derived from the job and stage names. */
export interface JobStreamNames {
  readonly job: string;
  /** Stream of the keyed exchange into `stage`: `STATOR_<JOB>_<STAGE>`. */
  exchangeStream(stage: string): string;
  /** Subject filter of that stream: `stator.<job>.<stage>.*`. */
  exchangeSubjects(stage: string): string[];
  /** The subject of one partition of the exchange into `stage`: `stator.<job>.<stage>.p<N>`. */
  exchangeSubject(stage: string, partition: number): string;
  /** The dead-letter stream of the job: `STATOR_<JOB>_DLQ`, subjects `stator.<job>.dlq.*`. */
  readonly deadLetterStream: string;
  readonly deadLetterSubjects: string[];
  /** Subject of dead letters from `stage`: `stator.<job>.dlq.<stage>`. */
  deadLetterSubject(stage: string): string;
  /**
   * The stream of one partition's state API writes: `STATOR_<JOB>_STATE_<STAGE>_P<N>`, a stream of
   * its own so each append can name the one before it (`Nats-Expected-Last-Msg-Id`).
   */
  stateLogStream(stage: string, partition: number): string;
  /** Its one subject: `stator.<job>.state-log.<stage>.p<N>`. */
  stateLogSubject(stage: string, partition: number): string;
  /** Every partition's subject (what finds the job's state log streams): `stator.<job>.state-log.>`. */
  readonly stateLogSubjects: string;
  /**
   * The one stream all partitions' writes went to before (`STATOR_<JOB>_STATE`, subjects
   * `stator.<job>.state.*.*`): read for the writes a checkpoint of that layout does not cover.
   */
  readonly stateCommandStream: string;
  readonly stateCommandSubjects: string[];
  /** A partition's subject in that former stream: `stator.<job>.state.<stage>.p<N>`. */
  stateCommandSubject(stage: string, partition: number): string;
  /**
   * Where the owner of one partition of `stage` answers state API requests (request/reply, no
   * stream): `stator.<job>.state-api.<stage>.p<N>`.
   */
  stateRequestSubject(stage: string, partition: number): string;
}

// `dlq` names the dead-letter subjects of a job, `state` the state API's stream, so no exchange may use them.
function assertStage(stage: string): void {
  assertToken('stage', stage);
  if (stage.toLowerCase() === 'dlq')
    throw new InvalidNameError('stage name "dlq" is reserved for dead letters: rename the stage');
  if (stage.toLowerCase() === 'state')
    throw new InvalidNameError('stage name "state" is reserved for the state API\'s stream: rename the stage');
}

function assertPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0)
    throw new InvalidNameError(`partition ${partition} must be an integer >= 0`);
}

/** The naming scheme for `job`. @throws InvalidNameError when the job name is not a valid token. */
export function jobStreamNames(job: string): JobStreamNames {
  assertToken('job', job);
  const upperJob = job.toUpperCase().replace(/-/g, '_');
  const upper = (stage: string): string => {
    assertStage(stage);
    return stage.toUpperCase().replace(/-/g, '_');
  };
  return {
    job,
    exchangeStream: (stage) => `STATOR_${upperJob}_${upper(stage)}`,
    exchangeSubjects: (stage) => (assertStage(stage), [`stator.${job}.${stage}.*`]),
    exchangeSubject: (stage, partition) => {
      assertStage(stage);
      assertPartition(partition);
      return `stator.${job}.${stage}.p${partition}`;
    },
    deadLetterStream: `STATOR_${upperJob}_DLQ`,
    deadLetterSubjects: [`stator.${job}.dlq.*`],
    deadLetterSubject: (stage) => (assertToken('stage', stage), `stator.${job}.dlq.${stage}`),
    stateLogStream: (stage, partition) => (
      assertToken('stage', stage),
      assertPartition(partition),
      `STATOR_${upperJob}_STATE_${stage.toUpperCase().replace(/-/g, '_')}_P${partition}`
    ),
    stateLogSubject: (stage, partition) => (
      assertToken('stage', stage),
      assertPartition(partition),
      `stator.${job}.state-log.${stage}.p${partition}`
    ),
    stateLogSubjects: `stator.${job}.state-log.>`,
    stateCommandStream: `STATOR_${upperJob}_STATE`,
    stateCommandSubjects: [`stator.${job}.state.*.*`],
    stateCommandSubject: (stage, partition) => (
      assertToken('stage', stage),
      assertPartition(partition),
      `stator.${job}.state.${stage}.p${partition}`
    ),
    stateRequestSubject: (stage, partition) => (
      assertToken('stage', stage),
      assertPartition(partition),
      `stator.${job}.state-api.${stage}.p${partition}`
    ),
  };
}
