import { jsonCodec } from '../job/codecs.ts';
import type { DeadLetter, DeadLetterReceiver } from '../engine/outlet.ts';
import { FileSink } from './file-sink.ts';
import type { Logger } from '../log.ts';

/** One dead letter as written to the JSON-lines file. */
export interface DeadLetterRecord {
  readonly stage: string;
  readonly partition?: number;
  readonly position: number;
  readonly attempts: number;
  readonly error: { readonly name: string; readonly code?: string; readonly message: string };
  readonly key?: unknown;
  readonly value?: unknown;
  readonly raw?: string;
  /** The input's bytes in base64, when they are not valid UTF-8 text (then there is no `raw`). */
  readonly rawBase64?: string;
}

/** Turns a dead letter into a JSON-safe record (bigints and cycles become strings rather than failing). */
export function deadLetterRecord(letter: DeadLetter): DeadLetterRecord {
  const error = letter.error;
  const described =
    error instanceof Error
      ? {
          name: error.name,
          ...(typeof (error as unknown as { code?: unknown }).code === 'string'
            ? { code: (error as unknown as { code: string }).code }
            : {}),
          message: error.message,
        }
      : { name: 'Error', message: String(error) };
  return {
    stage: letter.stage,
    ...(letter.partition === undefined ? {} : { partition: letter.partition }),
    position: letter.position,
    attempts: letter.attempts,
    error: described,
    ...('key' in letter ? { key: jsonSafe(letter.key) } : {}),
    ...('value' in letter ? { value: jsonSafe(letter.value) } : {}),
    ...(letter.raw === undefined ? {} : { raw: letter.raw }),
    ...(letter.raw === undefined && letter.bytes !== undefined
      ? {
          rawBase64: Buffer.from(letter.bytes.buffer, letter.bytes.byteOffset, letter.bytes.byteLength).toString(
            'base64',
          ),
        }
      : {}),
  };
}

function jsonSafe(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value, bigintAsString) ?? 'null') as unknown;
  } catch {
    return String(value);
  }
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * The embedded dead-letter sink: a JSON-lines file (by default `<output>.dead.jsonl`), flushed,
 * fsynced and truncated on restore exactly like the output, so a replay after a crash neither
 * duplicates nor loses a dead letter.
 */
export class DeadLetterFile {
  readonly sink: FileSink<DeadLetterRecord>;
  /** Dead letters written by this process. */
  count = 0;

  constructor(path: string, onError: (error: unknown) => void, logger?: Logger) {
    this.sink = new FileSink<DeadLetterRecord>(
      // Dead letters hold raw input: private to the user, like the checkpoints.
      { name: 'dead-letter', path, onError, mode: 0o600, ...(logger === undefined ? {} : { logger }) },
      jsonCodec<DeadLetterRecord>(),
      // A record that cannot be encoded cannot be dead-lettered either: jsonSafe makes that impossible.
      (letter) => onError(letter.error),
    );
  }

  readonly receive: DeadLetterReceiver = (letter) => {
    this.count++;
    this.sink.append(JSON.stringify(deadLetterRecord(letter)));
  };
}
