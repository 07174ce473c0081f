// Sets up every stream a job uses, in one call the runtime makes at start: the input (a user
// subject, possibly in the producer's own stream), one keyed exchange per stateful stage, the
// output, and the dead letters. See docs/jetstream.md for the scheme.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsLink } from './connection.ts';
import {
  ensureStream,
  ensureSubjectStream,
  type EnsureStreamResult,
  type StreamRequirements,
} from './ensure-stream.ts';
import { jobStreamNames, subjectStreamName, type JobStreamNames } from './stream-names.ts';
import { natsCore, natsJetStream } from '../deferred-packages.ts';

export interface JobStreamsSpec {
  readonly job: string;
  /** The subject the job reads (e.g. `wordcount.in`). */
  readonly inputSubject: string;
  /**
   * The input stream also captures `<inputSubject>.>`, where a pre-partitioned input is published
   * (`wordcount.in.0`, `wordcount.in.1`, ...). A stream stator created without it gets it added.
   */
  readonly partitionedInput?: boolean;
  /** The subject the job writes (e.g. `wordcount.out`). */
  readonly outputSubject: string;
  /** Stages fed by a keyed exchange (one subject per partition). */
  readonly exchangeStages: readonly string[];
  /** Duplicate window for every stream stator publishes into (see requiredDuplicateWindowMs). */
  readonly duplicateWindowMs: number;
  /** @default 'file' */
  readonly storage?: 'file' | 'memory';
  /** Replicas for the streams stator creates (3 on a cluster). @default 1 */
  readonly replicas?: number;
}

export interface StreamBinding {
  readonly stream: string;
  readonly subject: string;
  readonly created: boolean;
  /** The stream's duplicate window (ms) as this start left it. */
  readonly duplicateWindowMs: number;
  /** Set when this start widened the duplicate window of a stream stator created earlier (log it). */
  readonly widenedDuplicateWindow?: { readonly fromMs: number; readonly toMs: number };
  /** Set when this start added subjects to a stream stator created earlier (log it). */
  readonly addedSubjects?: readonly string[];
}

export interface JobStreams {
  readonly names: JobStreamNames;
  readonly input: StreamBinding;
  readonly output: StreamBinding;
  /** Per stage: the exchange stream and its subject filter (`stator.<job>.<stage>.*`). */
  readonly exchanges: ReadonlyMap<string, StreamBinding>;
  readonly deadLetters: StreamBinding;
}

/**
 * Creates missing streams and checks existing ones.
 * @throws StreamConfigError when one exists and does not fit (the message says how to fix it).
 */
export async function ensureJobStreams(link: NatsLink, spec: JobStreamsSpec): Promise<JobStreams> {
  const jsm = await link.jetstreamManager();
  const names = jobStreamNames(spec.job);
  const features = link.features;
  const common: Omit<StreamRequirements, 'name' | 'subjects'> = {
    storage: spec.storage ?? 'file',
    replicas: spec.replicas ?? 1,
  };
  const published = { ...common, minDuplicateWindowMs: spec.duplicateWindowMs };

  const input = await ensureSubjectStream(
    jsm,
    spec.inputSubject,
    {
      ...common,
      defaultName: subjectStreamName(spec.inputSubject),
      description: `input of stator job ${spec.job}`,
      ...(spec.partitionedInput === true ? { alsoSubjects: [`${spec.inputSubject}.>`] } : {}),
    },
    features,
  );
  const output = await ensureSubjectStream(
    jsm,
    spec.outputSubject,
    {
      ...published,
      defaultName: subjectStreamName(spec.outputSubject),
      description: `output of stator job ${spec.job}`,
    },
    features,
  );
  const binding = (result: EnsureStreamResult, subject: string): StreamBinding => ({
    stream: result.info.config.name,
    subject,
    created: result.created,
    duplicateWindowMs: natsCore().millis(result.info.config.duplicate_window ?? 0),
    ...(result.widenedDuplicateWindow === undefined ? {} : { widenedDuplicateWindow: result.widenedDuplicateWindow }),
    ...(result.addedSubjects === undefined ? {} : { addedSubjects: result.addedSubjects }),
  });
  const exchanges = new Map<string, StreamBinding>();
  for (const stage of spec.exchangeStages) {
    const stream = names.exchangeStream(stage);
    const subjects = names.exchangeSubjects(stage);
    const result = await ensureStream(
      jsm,
      {
        ...published,
        name: stream,
        subjects,
        description: `keyed exchange into stage ${stage} of stator job ${spec.job}`,
      },
      features,
    );
    exchanges.set(stage, binding(result, subjects[0]!));
  }
  const dlq = await ensureStream(
    jsm,
    {
      ...published,
      name: names.deadLetterStream,
      subjects: names.deadLetterSubjects,
      description: `dead letters of stator job ${spec.job}`,
    },
    features,
  );
  return {
    names,
    input: binding(input, spec.inputSubject),
    output: binding(output, spec.outputSubject),
    exchanges,
    deadLetters: binding(dlq, names.deadLetterSubjects[0]!),
  };
}

/**
 * Deletes the messages of one exchange subject below `keepFromSeq`: call it with the downstream
 * partition's committed position + 1 once the checkpoint is committed, so exchange streams do not
 * grow forever. Never trim above a committed position: a restore replays from there. Never trim a
 * message stored within the stream's duplicate window either: a restarted nats-server rebuilds its
 * dedupe memory from the messages it still stores, so a purged message's id is forgotten there, and
 * an upstream replay re-publishing it would be stored (and consumed) a second time.
 * @returns the number of messages purged.
 */
export async function trimConsumed(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  keepFromSeq: number,
): Promise<number> {
  if (keepFromSeq <= 1) return 0;
  const response = await jsm.streams.purge(stream, {
    ...(subject === '>' ? {} : { filter: subject }),
    seq: keepFromSeq,
  });
  return response.purged;
}

/**
 * Purges `stream` below `keepFromSeq`, but none of the messages stored within `windowMs` (the
 * stream's duplicate window) before its last one: see trimConsumed. Times are the server's own.
 * @returns the number of messages purged.
 */
export async function trimConsumedOutsideWindow(
  link: NatsLink,
  stream: string,
  keepFromSeq: number,
  windowMs: number,
): Promise<number> {
  const jsm = await link.jetstreamManager();
  const { state } = await jsm.streams.info(stream);
  if (state.messages === 0 || keepFromSeq <= 1) return 0;
  const last = await jsm.streams.getMessage(stream, { seq: state.last_seq });
  if (last === null) return 0;
  // The first message stored at most windowMs before the last one: it and every later one stay.
  const reader = await link.js.consumers.get(stream, {
    deliver_policy: natsJetStream().DeliverPolicy.StartTime,
    opt_start_time: new Date(last.time.getTime() - windowMs).toISOString(),
  });
  const first = await reader.next({ expires: 5000 });
  return trimConsumed(jsm, stream, '>', Math.min(keepFromSeq, first?.seq ?? 1));
}
