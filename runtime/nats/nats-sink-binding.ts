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
import { createStreamSink, type StreamSinkOptions } from './stream-sink.ts';

const encoder = new TextEncoder();

function encodeOrdinal(ordinal: number): Uint8Array {
  return encoder.encode(String(ordinal));
}

function decodeOrdinal(record: Uint8Array, sink: string): number {
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
  options: StreamSinkOptions = {},
): SinkBinding {
  let ordinal = 0;
  const prefix = `${job}:${definition.name}:`;
  const sink = createStreamSink(link, {
    ...options,
    // Too large to publish: a dead letter (with the output's position unknown here) instead of a failed job.
    onOversize: (message, size, limit) =>
      deadLetter({
        stage: definition.name,
        position: -1,
        attempts: 1,
        error: new Error(`output ${message.msgId} of ${size} bytes exceeds the ${limit < 0 ? "stream's max_msg_size" : `${limit}-byte max_payload`}`),
        raw: new TextDecoder().decode(message.data.subarray(0, 64 * 1024)),
      }),
  });
  const outlet: Outlet = {
    data(value, _timestamp, position) {
      let line: string;
      try {
        line = definition.codec.encode(value as T);
      } catch (error) {
        deadLetter({ stage: definition.name, position, error, attempts: 1, value });
        return;
      }
      try {
        sink.publish({ subject, data: encoder.encode(line), msgId: prefix + ordinal++ });
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
    },
    commit: async () => {
      // The count is taken now, before waiting: the pipeline is drained, so it matches the state.
      const record = encodeOrdinal(ordinal);
      await sink.flush();
      return record;
    },
    close: () => sink.close(),
  };
}

function jsonSafe(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null') as unknown;
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
  options: StreamSinkOptions = {},
): DeadLetters {
  const sink = createStreamSink(link, options);
  const publisher = createDeadLetterPublisher({ names, sink, maxPayloadBytes: link.nc.info?.max_payload ?? 1024 * 1024 });
  const receive = (letter: DeadLetter): void => {
    const payload = letter.raw ?? JSON.stringify({ ...('key' in letter ? { key: jsonSafe(letter.key) } : {}), ...('value' in letter ? { value: jsonSafe(letter.value) } : {}) });
    try {
      publisher.publish({
        stage: letter.stage,
        error: letter.error,
        data: encoder.encode(payload),
        position: letter.position,
        partition: letter.partition,
        attempts: letter.attempts,
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
    commit: async () => {
      await sink.flush();
      return encodeOrdinal(publisher.count);
    },
    close: () => sink.close(),
  };
  return { binding, receive, count: () => publisher.count };
}
