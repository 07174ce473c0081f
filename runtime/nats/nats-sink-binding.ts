// The job's output and its dead letters in NATS mode, as the runtime's sink bindings. Outputs get
// the id `<job>:<sink>:<n>`, n being the output's ordinal in the job's output sequence: the runtime
// merges partitions in a deterministic order, so a replay from a checkpoint re-emits the same
// outputs in the same order, with the same ids, and JetStream drops them. The checkpoint record of
// the sink is n at the checkpoint, so numbering resumes where the restored state resumes.
import type { SinkBinding } from '../bindings.ts';
import type { DeadLetter, DeadLetterReceiver, Outlet } from '../engine/outlet.ts';
import type { DeadLetters } from '../job-runtime.ts';
import type { SinkDefinition } from '../job/job.ts';
import { ConfigError } from '../errors.ts';
import type { NatsLink } from './connection.ts';
import { createDeadLetterPublisher } from './dead-letters.ts';
import type { JobStreamNames } from './stream-names.ts';
import { createStreamSink, isSafeHeaderValue, type StreamSinkOptions } from './stream-sink.ts';
import { Utf8Slab } from './utf8-slab.ts';

const encoder = new TextEncoder();

/**
 * A dead letter as NATS mode's bindings hand it over: the runtime's DeadLetter plus what only the
 * transport knows. The runtime passes the receiver through unchanged, so the extra fields arrive.
 */
export interface NatsDeadLetter extends DeadLetter {
  /** The original payload bytes (set for every input message; input that is not valid UTF-8 has no `raw` text). */
  readonly bytes?: Uint8Array;
  /**
   * Where the message came from or was going; default: the input subject, or the output subject for the sink's letters.
   */
  readonly originalSubject?: string;
  /** A deterministic id (e.g. `dlq:<output id>` for an oversize output), so a replay stores it once. */
  readonly msgId?: string;
}

/** A sink's checkpoint record: the count of messages it numbered. */
export function encodeOrdinal(ordinal: number): Uint8Array {
  return encoder.encode(String(ordinal));
}

export function decodeOrdinal(record: Uint8Array, sink: string): number {
  const ordinal = Number(new TextDecoder().decode(record));
  if (!Number.isSafeInteger(ordinal) || ordinal < 0) {
    throw new ConfigError(
      `the checkpoint's record for sink ${sink} is not an output count (was the job's sink or mode changed?): clear the job's checkpoints to start over`,
    );
  }
  return ordinal;
}

/** Binds a job's sink to a subject captured by a JetStream stream (NATS mode). */
export function natsSinkBinding<T>(
  link: NatsLink,
  job: string,
  definition: SinkDefinition<T>,
  subject: string,
  deadLetter: DeadLetterReceiver,
  onError: (error: unknown) => void,
  options: StreamSinkOptions & {
    /** The unit of a scaled-out job writing this sink: ids become `<job>:<sink>:<unit>:<n>`, numbered per unit. */
    readonly unit?: string;
    /**
     * The stream that stores `subject`. With it (and no `unit`), `open` reads the id of the last
     * output stored, so `replayBacklog` can tell how many outputs of an earlier run a replay re-emits.
     */
    readonly stream?: string;
  } = {},
): SinkBinding {
  let ordinal = 0;
  /** The id of output ordinal - 1 when this process published it (the next output names it). */
  let previousMsgId: string | undefined;
  /** One past the highest ordinal the stream held at open; undefined when unknown. */
  let storedEnd: number | undefined;
  const { unit, stream, ...sinkOptions } = options;
  const prefix = unit === undefined ? `${job}:${definition.name}:` : `${job}:${definition.name}:${unit}:`;
  // Every id is the prefix and an ordinal: checked here once, not per output by the sink.
  const idsChecked = isSafeHeaderValue(prefix);
  const sink = createStreamSink(link, {
    ...sinkOptions,
    // Too large to publish: a dead letter (with the output's position unknown here) instead of a failed job.
    onOversize: (message, size, limit) => {
      const letter: NatsDeadLetter = {
        stage: definition.name,
        position: -1,
        attempts: 1,
        error: new Error(
          `output ${message.msgId} of ${size} bytes exceeds the ${limit < 0 ? "stream's max_msg_size" : `${limit}-byte max_payload`}`,
        ),
        // The dead-letter publisher cuts it to fit (Stator-Truncated gives the original size).
        bytes: message.data,
        originalSubject: message.subject,
        msgId: `dlq:${message.msgId}`,
      };
      deadLetter(letter);
    },
  });
  // Outputs live until their publish is acknowledged: short and alike, what a slab suits.
  const slab = new Utf8Slab();
  const outlet: Outlet = {
    data(value, _timestamp, position) {
      let line: string;
      try {
        line = definition.codec.encode(value as T);
      } catch (error) {
        const letter: NatsDeadLetter = {
          stage: definition.name,
          position,
          error,
          attempts: 1,
          value,
          originalSubject: subject,
        };
        deadLetter(letter);
        return;
      }
      try {
        const n = ordinal++;
        const msgId = prefix + n;
        // A job's outputs are numbered alike on every run: chained, they need no PubAck each. A
        // scaled-out job's units share the output stream, so theirs ask for one each.
        const previous = unit === undefined && n > 0 ? (previousMsgId ?? prefix + (n - 1)) : undefined;
        previousMsgId = msgId;
        sink.publish({ subject, data: slab.encode(line), msgId, previousMsgId: previous, idsChecked });
      } catch (error) {
        onError(error);
      }
    },
    watermark() {},
    idle() {},
    get congested() {
      return sink.congested;
    },
    whenUncongested: () => sink.whenUncongested().catch((error: unknown) => onError(error)),
  };
  return {
    name: definition.name,
    outlet,
    open: async (record) => {
      ordinal = record === undefined ? 0 : decodeOrdinal(record, definition.name);
      previousMsgId = undefined;
      storedEnd =
        stream === undefined || unit !== undefined ? undefined : await storedOrdinalEnd(link, stream, subject, prefix);
    },
    replayBacklog: () => (storedEnd === undefined ? undefined : Math.max(0, storedEnd - ordinal)),
    // flush() waits for what was published before the call: exactly the outputs the count covers.
    cut: () => ({ record: encodeOrdinal(ordinal), durable: sink.flush() }),
    close: () => sink.close(),
    dedupesByOrdinal: true,
  };
}

/**
 * One past the ordinal in the id of the last message stored on `subject` (0 when there is none), or
 * undefined when that message was not numbered by `prefix` (another publisher wrote last). Outputs
 * are chained, so the stream stores them in ordinal order and the last one is the highest.
 */
async function storedOrdinalEnd(
  link: NatsLink,
  stream: string,
  subject: string,
  prefix: string,
): Promise<number | undefined> {
  const jsm = await link.jetstreamManager();
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (last === null) return 0;
  const id = last.header?.get('Nats-Msg-Id') ?? '';
  if (!id.startsWith(prefix)) return undefined;
  const n = Number(id.slice(prefix.length));
  return Number.isSafeInteger(n) && n >= 0 ? n + 1 : undefined;
}

function jsonSafe(value: unknown): unknown {
  try {
    return JSON.parse(
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null',
    ) as unknown;
  } catch {
    return String(value);
  }
}

/**
 * The dead-letter binding in NATS mode: the job's dead-letter stream. The payload is the raw input
 * when there is one, else `{"key":..., "value":...}` as JSON; error, stage, position and partition
 * are headers (see DeadLetterHeaders).
 */
export function natsDeadLetterBinding(
  link: NatsLink,
  names: JobStreamNames,
  onError: (error: unknown) => void,
  options: StreamSinkOptions & {
    /** Stator-Original-Subject of letters that do not name one: the input subject (decode and stage failures). */
    readonly inputSubject?: string;
  } = {},
): DeadLetters {
  const { inputSubject, ...sinkOptions } = options;
  const sink = createStreamSink(link, sinkOptions);
  const publisher = createDeadLetterPublisher({
    names,
    sink,
    maxPayloadBytes: link.nc.info?.max_payload ?? 1024 * 1024,
  });
  const receive = (received: DeadLetter): void => {
    const letter = received as NatsDeadLetter;
    const data =
      letter.bytes ??
      encoder.encode(
        letter.raw ??
          JSON.stringify({
            ...('key' in letter ? { key: jsonSafe(letter.key) } : {}),
            ...('value' in letter ? { value: jsonSafe(letter.value) } : {}),
          }),
      );
    try {
      publisher.publish({
        stage: letter.stage,
        error: letter.error,
        data,
        originalSubject: letter.originalSubject ?? inputSubject,
        position: letter.position,
        partition: letter.partition,
        attempts: letter.attempts,
        msgId: letter.msgId,
      });
    } catch (error) {
      onError(error);
    }
  };
  const binding: SinkBinding = {
    name: 'dead-letter',
    outlet: {
      data: () => {},
      watermark: () => {},
      idle: () => {},
      congested: false,
      whenUncongested: () => Promise.resolve(),
    },
    open: async () => {},
    cut: () => ({ record: encodeOrdinal(publisher.count), durable: sink.flush() }),
    close: () => sink.close(),
  };
  return { binding, receive, count: () => publisher.count };
}
