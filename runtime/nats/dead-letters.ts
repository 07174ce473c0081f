// Dead letters: messages a job could not process (undecodable input, a task that kept throwing, an
// output too large to publish) go to the job's dead-letter stream with the error, the stage and the
// original subject in headers, so an operator can inspect and replay them (`nats stream view`).
import type { OutputMessage, StreamSink } from './stream-sink.ts';
import type { JobStreamNames } from './stream-names.ts';
import { natsCore } from '../deferred-packages.ts';

/** Header names on a dead letter. */
export const DeadLetterHeaders = {
  ERROR: 'Stator-Error',
  ERROR_CODE: 'Stator-Error-Code',
  STAGE: 'Stator-Stage',
  ORIGINAL_SUBJECT: 'Stator-Original-Subject',
  POSITION: 'Stator-Position',
  PARTITION: 'Stator-Partition',
  ATTEMPTS: 'Stator-Attempts',
  /** Present when the payload was cut to fit: the original size in bytes. */
  TRUNCATED: 'Stator-Truncated',
} as const;

/**
 * A message that could not be processed, and why, as published to the dead-letter stream (the
 * embedded mode's file holds DeadLetterRecords).
 */
export interface DeadLetterMessage {
  /** The step that failed: the source (undecodable input), a stage, or a sink (oversize output). */
  readonly stage: string;
  readonly error: unknown;
  /** The original payload (truncated to fit the server's max_payload when needed). */
  readonly data: Uint8Array;
  /** Subject the message was read from or meant for. */
  readonly originalSubject?: string | undefined;
  /** Stream sequence of the input message; -1 when it does not come from one input (timers). */
  readonly position: number;
  readonly partition?: number | undefined;
  readonly attempts?: number | undefined;
  /**
   * Message id, when the caller has a deterministic one (e.g. derived from an oversize output's id).
   * Otherwise derived from job, stage, partition, position and the letter's index at that position;
   * letters without a position (-1) get none and are not deduplicated on replay.
   */
  readonly msgId?: string | undefined;
}

/** Publishes dead letters through a StreamSink, so a checkpoint's flush covers them too. */
export interface DeadLetterPublisher {
  /** Queues a dead letter; never throws for a bad error value. */
  publish(letter: DeadLetterMessage): void;
  /** Dead letters published so far. */
  readonly count: number;
  /**
   * An `onOversize` handler for a StreamSink: an output too large to publish becomes a dead letter
   * (truncated, id derived from the output's id) instead of failing the job.
   */
  oversizeHandler(stage: string): (message: OutputMessage, sizeBytes: number, limitBytes: number) => void;
}

export interface DeadLetterOptions {
  readonly names: JobStreamNames;
  readonly sink: StreamSink;
  /** The server's max_payload (link.nc.info.max_payload): payloads are cut to fit below it. */
  readonly maxPayloadBytes: number;
}

// Header values are single lines; error messages are cut to keep the headers small.
const MAX_ERROR_CHARS = 1024;
// Room for the headers when deciding how much payload fits.
const HEADER_RESERVE_BYTES = 4096;

function oneLine(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  return flat.length > MAX_ERROR_CHARS ? `${flat.slice(0, MAX_ERROR_CHARS)}…` : flat;
}

export function createDeadLetterPublisher(options: DeadLetterOptions): DeadLetterPublisher {
  const { names, sink } = options;
  const maxData = Math.max(0, options.maxPayloadBytes - HEADER_RESERVE_BYTES);
  // Index of the last letter per (stage, partition, position): several letters from one input get
  // distinct, reproducible ids.
  const lastAt = new Map<string, { position: number; index: number }>();
  let count = 0;

  const idFor = (letter: DeadLetterMessage): string | undefined => {
    if (letter.msgId !== undefined) return letter.msgId;
    if (letter.position < 0) return undefined;
    const key = `${letter.stage}:${letter.partition ?? 0}`;
    const last = lastAt.get(key);
    const index = last !== undefined && last.position === letter.position ? last.index + 1 : 0;
    lastAt.set(key, { position: letter.position, index });
    return `dlq:${names.job}:${key}:${letter.position}:${index}`;
  };

  const publish = (letter: DeadLetterMessage): void => {
    const h = natsCore().headers();
    const error = letter.error;
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    h.set(DeadLetterHeaders.ERROR, oneLine(text));
    const code = (error as { code?: unknown } | null | undefined)?.code;
    if (typeof code === 'string' || typeof code === 'number') h.set(DeadLetterHeaders.ERROR_CODE, String(code));
    h.set(DeadLetterHeaders.STAGE, letter.stage);
    if (letter.originalSubject !== undefined) h.set(DeadLetterHeaders.ORIGINAL_SUBJECT, letter.originalSubject);
    h.set(DeadLetterHeaders.POSITION, String(letter.position));
    if (letter.partition !== undefined) h.set(DeadLetterHeaders.PARTITION, String(letter.partition));
    if (letter.attempts !== undefined) h.set(DeadLetterHeaders.ATTEMPTS, String(letter.attempts));
    let data = letter.data;
    if (data.length > maxData) {
      h.set(DeadLetterHeaders.TRUNCATED, String(data.length));
      data = data.subarray(0, maxData);
    }
    const msgId = idFor(letter);
    count++;
    // The stage goes into the subject as one token: anything a token cannot hold becomes `_` (the
    // Stator-Stage header keeps the exact name).
    const token = letter.stage.replace(/[^A-Za-z0-9_-]/g, '_') || '_';
    sink.publish({ subject: names.deadLetterSubject(token), data, msgId: msgId ?? '', headers: h });
  };

  return {
    publish,
    get count() {
      return count;
    },
    oversizeHandler: (stage) => (message, sizeBytes, limitBytes) =>
      publish({
        stage,
        error: new Error(
          `output of ${sizeBytes} bytes to ${message.subject} exceeds the ${limitBytes < 0 ? "stream's max_msg_size" : `${limitBytes}-byte max_payload`}`,
        ),
        data: message.data,
        originalSubject: message.subject,
        position: -1,
        msgId: `dlq:${message.msgId}`,
      }),
  };
}
