// Creates the streams a job needs, or checks that existing ones fit. A stream someone else created
// may look right by name and still break exactly-once (a memory stream loses data on restart, an
// interest stream drops what a replay needs, a short duplicate window lets replays through), so every
// difference that matters is reported with the command that fixes it.
import type { JetStreamManager, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import { StreamConfigError, type StreamConfigDifference } from './errors.ts';
import type { ServerFeatures } from './server-features.ts';
import { natsCore, natsJetStream } from '../deferred-packages.ts';

/** What a job needs from one stream. Fields left out are not checked and get the server's defaults. */
export interface StreamRequirements {
  readonly name: string;
  /** Subjects the stream must capture (an existing stream may capture more, e.g. `wordcount.>`). */
  readonly subjects: readonly string[];
  readonly description?: string;
  /** @default 'file' */
  readonly storage?: 'file' | 'memory';
  /**
   * Minimum duplicate window (dedupe of Nats-Msg-Id), for streams stator publishes into. An existing
   * stream with a longer window is fine.
   */
  readonly minDuplicateWindowMs?: number;
  /** Minimum message size the stream must accept (-1 or unset on the stream: unlimited). */
  readonly minMaxMsgSize?: number;
  /** @default 1 */
  readonly replicas?: number;
  /** Age limit for streams stator creates (not checked on existing streams). Unset: keep forever. */
  readonly maxAgeMs?: number;
}

export interface EnsureStreamResult {
  readonly info: StreamInfo;
  /** Whether this call created the stream. */
  readonly created: boolean;
  /**
   * Set when this call widened the duplicate window of a stream stator had created (recognised by
   * its description) because a later run needs more (e.g. a larger --max-outage): log it.
   */
  readonly widenedDuplicateWindow?: { readonly fromMs: number; readonly toMs: number };
  /**
   * Set when this call added subjects to a stream stator had created (e.g. `wordcount.in.>` for a
   * job whose input became pre-partitioned): log it.
   */
  readonly addedSubjects?: readonly string[];
}

// JetStream API error code for "stream name already in use with a different configuration".
const STREAM_NAME_IN_USE = 10058;
// JetStream API error code for "stream not found".
const STREAM_NOT_FOUND = 10059;

const list = (values: readonly string[]): string => `[${values.join(', ')}]`;
const seconds = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.ceil(ms / 1000)}s`);

/** True when the subject filter `pattern` (with `*` and `>`) matches every subject `subject` matches. */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i;
    const other = s[i];
    if (other === undefined) return false;
    if (token === '*') {
      if (other === '>') return false;
      continue;
    }
    if (token !== other) return false;
  }
  return p.length === s.length;
}

/** The differences between an existing stream's config and the requirements (empty: compatible). */
export function streamConfigDifferences(config: StreamConfig, wanted: StreamRequirements): StreamConfigDifference[] {
  const differences: StreamConfigDifference[] = [];
  const subjects = config.subjects ?? [];
  const uncovered = wanted.subjects.filter((subject) => !subjects.some((pattern) => subjectCovers(pattern, subject)));
  if (uncovered.length > 0)
    differences.push({ field: 'subjects', actual: list(subjects), expected: list(wanted.subjects) });
  if (config.retention !== natsJetStream().RetentionPolicy.Limits) {
    differences.push({
      field: 'retention',
      actual: String(config.retention),
      expected: natsJetStream().RetentionPolicy.Limits,
    });
  }
  const storage = wanted.storage ?? 'file';
  if (config.storage !== storage)
    differences.push({ field: 'storage', actual: String(config.storage), expected: storage });
  if (wanted.minDuplicateWindowMs !== undefined) {
    const windowMs = natsCore().millis(config.duplicate_window ?? 0);
    if (windowMs < wanted.minDuplicateWindowMs) {
      differences.push({
        field: 'duplicate_window',
        actual: seconds(windowMs),
        expected: `at least ${seconds(wanted.minDuplicateWindowMs)}`,
      });
    }
  }
  if (wanted.minMaxMsgSize !== undefined) {
    const max = config.max_msg_size ?? -1;
    if (max >= 0 && max < wanted.minMaxMsgSize) {
      differences.push({
        field: 'max_msg_size',
        actual: `${max} bytes`,
        expected: `at least ${wanted.minMaxMsgSize} bytes`,
      });
    }
  }
  if (config.mirror !== undefined && config.mirror !== null) {
    differences.push({
      field: 'mirror',
      actual: `mirror of ${config.mirror.name}`,
      expected: 'a stream that accepts publishes',
    });
  }
  if (config.sealed === true) differences.push({ field: 'sealed', actual: 'true', expected: 'false' });
  return differences;
}

/** How to fix one difference, for the error message. */
function remedy(name: string, difference: StreamConfigDifference, wanted: StreamRequirements): string {
  switch (difference.field) {
    case 'duplicate_window':
      return `raise it: nats stream edit ${name} --dupe-window ${seconds(wanted.minDuplicateWindowMs ?? 0)}`;
    case 'max_msg_size':
      return `raise it: nats stream edit ${name} --max-msg-size ${wanted.minMaxMsgSize ?? -1}`;
    case 'subjects':
      return `add them: nats stream edit ${name} --subjects ${[
        ...new Set([
          ...difference.actual
            .slice(1, -1)
            .split(', ')
            .filter((s) => s !== ''),
          ...wanted.subjects,
        ]),
      ].join(',')}`;
    default:
      return `it cannot be changed in place: delete the stream (nats stream rm ${name}, which deletes its messages) and let stator create it, or point the job at another stream`;
  }
}

function mismatchError(
  name: string,
  wanted: StreamRequirements,
  differences: StreamConfigDifference[],
  prefix: string,
  cause?: unknown,
): StreamConfigError {
  const details = differences.map(
    (d) => `${d.field} is ${d.actual}, expected ${d.expected} (${remedy(name, d, wanted)})`,
  );
  return new StreamConfigError(
    name,
    `${prefix}: ${details.join('; ')}`,
    differences,
    cause === undefined ? undefined : { cause },
  );
}

function configFor(wanted: StreamRequirements): Partial<StreamConfig> & { name: string } {
  const config: Partial<StreamConfig> & { name: string } = {
    name: wanted.name,
    subjects: [...wanted.subjects],
    retention: natsJetStream().RetentionPolicy.Limits,
    storage:
      (wanted.storage ?? 'file') === 'file' ? natsJetStream().StorageType.File : natsJetStream().StorageType.Memory,
    discard: natsJetStream().DiscardPolicy.Old,
    num_replicas: wanted.replicas ?? 1,
  };
  if (wanted.description !== undefined) config.description = wanted.description;
  if (wanted.minDuplicateWindowMs !== undefined)
    config.duplicate_window = natsCore().nanos(wanted.minDuplicateWindowMs);
  if (wanted.maxAgeMs !== undefined) config.max_age = natsCore().nanos(wanted.maxAgeMs);
  return config;
}

/** A stream stator created carries the description stator gives it (stream metadata needs nats-server 2.10). */
function createdByStator(found: StreamInfo, wanted: StreamRequirements): boolean {
  return wanted.description !== undefined && found.config.description === wanted.description;
}

/**
 * A stream stator created was set up by an earlier run: its duplicate window sized for, say, a
 * shorter --max-outage, its subjects for an input that was not yet pre-partitioned. Widen it rather
 * than refuse to start. Streams created by others are only reported, never edited.
 */
async function widenStream(
  jsm: JetStreamManager,
  found: StreamInfo,
  wanted: StreamRequirements,
  differences: readonly StreamConfigDifference[],
): Promise<EnsureStreamResult> {
  const fromMs = natsCore().millis(found.config.duplicate_window ?? 0);
  const toMs = wanted.minDuplicateWindowMs;
  const widenWindow = toMs !== undefined && differences.some((d) => d.field === 'duplicate_window');
  const subjects = found.config.subjects ?? [];
  const added = wanted.subjects.filter((subject) => !subjects.some((pattern) => subjectCovers(pattern, subject)));
  let info: StreamInfo;
  try {
    info = await jsm.streams.update(wanted.name, {
      ...(widenWindow ? { duplicate_window: natsCore().nanos(toMs) } : {}),
      ...(added.length > 0 ? { subjects: [...subjects, ...added] } : {}),
    });
  } catch (error) {
    throw mismatchError(
      wanted.name,
      wanted,
      [...differences],
      `stream ${wanted.name} was created by stator, but widening it failed (${(error as Error).message})`,
      error,
    );
  }
  return {
    info,
    created: false,
    ...(widenWindow ? { widenedDuplicateWindow: { fromMs, toMs } } : {}),
    ...(added.length > 0 ? { addedSubjects: added } : {}),
  };
}

async function existing(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (error instanceof natsJetStream().JetStreamApiError && error.code === STREAM_NOT_FOUND) return undefined;
    throw error;
  }
}

/**
 * Makes sure the stream exists and fits the requirements: creates it when missing, checks it when
 * present. After creating, reads the configuration back and checks it again, because older servers
 * silently drop fields they do not know instead of rejecting them.
 *
 * @throws StreamConfigError when an existing stream (or the one just created) does not fit; the
 * message lists every difference and the `nats` command that fixes it.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  wanted: StreamRequirements,
  features?: ServerFeatures,
): Promise<EnsureStreamResult> {
  const found = await existing(jsm, wanted.name);
  if (found !== undefined) {
    const differences = streamConfigDifferences(found.config, wanted);
    const widenable = differences.every((d) => d.field === 'duplicate_window' || d.field === 'subjects');
    if (differences.length > 0 && widenable && createdByStator(found, wanted)) {
      return widenStream(jsm, found, wanted, differences);
    }
    if (differences.length > 0)
      throw mismatchError(wanted.name, wanted, differences, `stream ${wanted.name} exists but does not fit`);
    return { info: found, created: false };
  }
  let info: StreamInfo;
  let created = true;
  try {
    info = await jsm.streams.add(configFor(wanted));
  } catch (error) {
    // Another process created it between our look-up and our add: check theirs instead.
    if (error instanceof natsJetStream().JetStreamApiError && error.code === STREAM_NAME_IN_USE) {
      const raced = await existing(jsm, wanted.name);
      if (raced === undefined) throw error;
      info = raced;
      created = false;
    } else if (error instanceof natsJetStream().JetStreamApiError && /subjects overlap/i.test(error.message)) {
      throw new StreamConfigError(
        wanted.name,
        `cannot create stream ${wanted.name} for ${list(wanted.subjects)}: another stream already captures these subjects ` +
          `(${error.message}); find it with \`nats stream ls\` / \`nats stream info\` and delete it, or point the job at it`,
        [{ field: 'subjects', actual: 'captured by another stream', expected: list(wanted.subjects) }],
        { cause: error },
      );
    } else {
      throw error;
    }
  }
  // Read back: the server's answer to add() echoes what it stored, but a fresh info is the truth.
  const stored = (await existing(jsm, wanted.name)) ?? info;
  const differences = streamConfigDifferences(stored.config, wanted);
  if (differences.length > 0) {
    const server = features === undefined ? '' : ` (nats-server ${features.version})`;
    throw mismatchError(
      wanted.name,
      wanted,
      differences,
      `stream ${wanted.name} was created but the server${server} stored a different configuration`,
    );
  }
  return { info: stored, created };
}

/**
 * For a user subject (a job's input or output): uses the stream that already captures `subject`
 * when there is one (checked against the requirements), else creates `defaultName`
 * (see subjectStreamName). So a producer's own stream, e.g. `EVENTS` on `events.>`, is used as is.
 * `alsoSubjects` must be captured by that same stream too (a pre-partitioned input's `<subject>.>`).
 */
export async function ensureSubjectStream(
  jsm: JetStreamManager,
  subject: string,
  wanted: Omit<StreamRequirements, 'name' | 'subjects'> & {
    readonly defaultName: string;
    readonly alsoSubjects?: readonly string[];
  },
  features?: ServerFeatures,
): Promise<EnsureStreamResult> {
  const names: string[] = [];
  for await (const name of jsm.streams.names(subject)) names.push(name);
  const { defaultName, alsoSubjects = [], ...rest } = wanted;
  if (names.length > 1) {
    throw new StreamConfigError(
      names[0] ?? defaultName,
      `subject ${subject} is captured by several streams (${names.join(', ')}): a message would be stored in each; ` +
        'remove the subject from all but one (nats stream edit)',
      [{ field: 'subjects', actual: `captured by ${names.join(', ')}`, expected: 'captured by one stream' }],
    );
  }
  return ensureStream(jsm, { ...rest, name: names[0] ?? defaultName, subjects: [subject, ...alsoSubjects] }, features);
}
