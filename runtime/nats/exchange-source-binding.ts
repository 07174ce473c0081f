// The input of one unit of a scaled-out job's keyed stage: its partition's subject of the exchange
// stream, read from the checkpointed sequence + 1. Data goes to the unit's pipeline; the upstream
// units' markers become its watermark inputs. Nothing here depends on time: the unit's input is the
// stored log alone, so a replay sees the same messages and markers in the same order.
import type { DeadLetterReceiver, Outlet } from '../engine/outlet.ts';
import type { NatsLink } from './connection.ts';
import { decodeExchangeMessage } from './exchange-message.ts';
import type { NatsDeadLetter } from './nats-sink-binding.ts';
import { StreamReaderBinding } from './stream-reader-binding.ts';

export interface ExchangeSourceOptions {
  /** The source's name in checkpoints (its position is recorded under it). */
  readonly name: string;
  readonly stream: string;
  readonly subject: string;
  /** Upstream units feeding this subject: markers from outside 0..inputs-1 are dead letters. */
  readonly inputs: number;
}

/** Binds a unit's input to its partition of a keyed exchange stream. */
export function exchangeSourceBinding(
  link: NatsLink,
  options: ExchangeSourceOptions,
  entry: Outlet,
  deadLetter: DeadLetterReceiver,
): StreamReaderBinding {
  return new StreamReaderBinding(options.name, link, { stream: options.stream, subject: options.subject }, entry, {
    record(record, previous) {
      let message;
      try {
        message = decodeExchangeMessage(record.data);
        if (
          message.kind !== 'data' &&
          !(Number.isInteger(message.from) && message.from >= 0 && message.from < options.inputs)
        ) {
          throw new RangeError(
            `a ${message.kind} marker names upstream input ${message.from}, but ${options.subject} has ${options.inputs} (was the job's layout changed?)`,
          );
        }
      } catch (error) {
        const letter: NatsDeadLetter = {
          stage: options.name,
          position: record.seq,
          error,
          attempts: 1,
          bytes: record.data,
          originalSubject: record.subject,
        };
        deadLetter(letter);
        return;
      }
      switch (message.kind) {
        case 'data':
          entry.data(message.value, message.timestamp, record.seq);
          return;
        case 'watermark':
          // The marker's position is the one before it, as an input's watermark messages are.
          entry.watermark(message.from, message.watermark, previous);
          return;
        case 'idle':
          entry.idle(message.from);
          return;
      }
    },
  });
}
