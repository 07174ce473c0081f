// The keyed hop between two units of a scaled-out job: each output of the upstream unit is keyed by
// the downstream stage's keyBy, routed by key group to the downstream partition's subject
// (`stator.<job>.<stage>.p<N>`) and published with the id `<job>:<unit>:<n>`, n counting this
// unit's data messages. The unit's input is a stored log and its processing deterministic, so a
// replay from a checkpoint (or a fenced zombie still running) re-emits the same messages with the
// same ids, and JetStream keeps one of each. Watermarks and idleness go to every downstream
// partition as markers: a repeated marker changes nothing downstream, and markers may depend on
// timing (an input that caught up, an idle timeout), so they cannot number the data.
//
// The only writer of its exchange stream (`soleWriter`) chains its messages as a job's outputs are
// chained (one PubAck per few hundred). A marker then needs an id, or it would end the chain (a
// message without one resets the stream's last id): `<job>:<unit>:<n>.w<watermark>.p<partition>` or
// `...<n>.i.p<partition>`, n the data count before it, so two markers share an id only when they are
// the same marker at the same place. It asks for its own PubAck and no later one confirms it
// (docs/scale-out.md, "The exchange's chain"). Otherwise every message asks for its own PubAck.
import type { SinkBinding } from '../bindings.ts';
import { EntryKind } from '../engine/mailbox.ts';
import { KeyRouter } from '../engine/key-router.ts';
import type { KeyGrouping, PartitionInbox } from '../engine/key-router.ts';
import type { DeadLetterReceiver, Outlet } from '../engine/outlet.ts';
import type { StepDefinition } from '../job/job.ts';
import type { NatsLink } from './connection.ts';
import { encodeExchangeData, encodeExchangeIdle, encodeExchangeWatermark } from './exchange-message.ts';
import type { NatsDeadLetter } from './nats-sink-binding.ts';
import { decodeOrdinal, encodeOrdinal } from './nats-sink-binding.ts';
import { createStreamSink, isSafeHeaderValue, type StreamSinkOptions } from './stream-sink.ts';

type KeyByStep = Extract<StepDefinition, { kind: 'keyBy' }>;

export interface ExchangeSinkOptions {
  readonly job: string;
  /** The publishing unit (e.g. `in.i0`, `split.p2`): names its message ids. */
  readonly unit: string;
  /** This unit's index among the downstream stage's inputs (its partition, or the input partition). */
  readonly from: number;
  /** The downstream stage's keyBy, its partition count, and the subject of each partition. */
  readonly keyBy: KeyByStep;
  readonly parallelism: number;
  readonly subjectOf: (partition: number) => string;
  readonly grouping: KeyGrouping;
  /** No other unit publishes to the exchange's stream (`stream`): its messages are chained. */
  readonly soleWriter?: boolean;
  /** The exchange's stream: a sole writer reads how far its last run got from its last message. */
  readonly stream?: string;
  readonly sink?: StreamSinkOptions;
}

/** Binds a unit's output to the keyed exchange into the next stage (NATS mode, scaled out). */
export function exchangeSinkBinding(
  link: NatsLink,
  options: ExchangeSinkOptions,
  deadLetter: DeadLetterReceiver,
  onError: (error: unknown) => void,
): SinkBinding {
  const sink = createStreamSink(link, options.sink ?? {});
  const name = `exchange:${options.keyBy.name}`;
  const prefix = `${options.job}:${options.unit}:`;
  const chained = options.soleWriter === true;
  // Every id is the prefix, counts and a watermark: checked here once, not per message by the sink.
  const idsChecked = isSafeHeaderValue(prefix);
  let ordinal = 0;
  /** The id of the last message this binding published (what the next one is chained to). */
  let previousMsgId: string | undefined;
  /** How many data messages the stream held from this unit at open (chained only; 0 when unknown). */
  let storedEnd = 0;
  const publish = (subject: string, data: Uint8Array, msgId: string, marker: boolean): void => {
    try {
      if (!chained) {
        sink.publish({ subject, data, msgId: marker ? '' : msgId });
        return;
      }
      // A replay's data up to storedEnd are duplicates, so its markers there would follow nothing new;
      // sent, each would be refused (the stream's last id is further on) and make the sink send
      // everything unacknowledged again. The markers an earlier run stored there stay.
      if (marker && ordinal < storedEnd) return;
      sink.publish({ subject, data, msgId, previousMsgId, idsChecked, confirmAlone: marker });
      previousMsgId = msgId;
    } catch (error) {
      onError(error);
    }
  };
  const inboxes: PartitionInbox[] = [];
  for (let partition = 0; partition < options.parallelism; partition++) {
    const subject = options.subjectOf(partition);
    inboxes.push({
      enqueue(kind, key, value, timestamp) {
        switch (kind) {
          case EntryKind.DATA: {
            let data: Uint8Array;
            try {
              data = encodeExchangeData(timestamp, value);
            } catch (error) {
              const letter: NatsDeadLetter = {
                stage: options.keyBy.name,
                position: -1,
                attempts: 1,
                key,
                value,
                error,
                originalSubject: subject,
              };
              deadLetter(letter);
              return;
            }
            publish(subject, data, prefix + ordinal++, false);
            return;
          }
          case EntryKind.WATERMARK:
            publish(
              subject,
              encodeExchangeWatermark(options.from, timestamp),
              `${prefix}${ordinal}.w${timestamp}.p${partition}`,
              true,
            );
            return;
          case EntryKind.IDLE:
            publish(subject, encodeExchangeIdle(options.from), `${prefix}${ordinal}.i.p${partition}`, true);
            return;
          default:
            return;
        }
      },
      isFull: () => sink.congested,
      whenWritable: () => sink.whenUncongested(),
    });
  }
  const router = new KeyRouter(
    options.keyBy.name,
    options.keyBy.fn,
    options.keyBy.keyCoder,
    options.grouping,
    inboxes,
    deadLetter,
  );
  const outlet: Outlet = {
    data: (value, timestamp, position) => router.data(value, timestamp, position),
    // The marker names this unit, whichever upstream index the pipeline reported it under.
    watermark: (_from, watermark, position) => router.watermark(options.from, watermark, position),
    idle: () => router.idle(options.from),
    get congested() {
      return sink.congested;
    },
    whenUncongested: () => sink.whenUncongested().catch((error: unknown) => onError(error)),
  };
  return {
    name,
    outlet,
    open: async (record) => {
      ordinal = record === undefined ? 0 : decodeOrdinal(record, name);
      // The first message after a restore asks for its own PubAck: what preceded it is not known.
      previousMsgId = undefined;
      storedEnd =
        chained && options.stream !== undefined ? ((await storedDataEnd(link, options.stream, prefix)) ?? 0) : 0;
    },
    // flush() waits for what was published before the call: exactly the messages the count covers.
    cut: () => ({ record: encodeOrdinal(ordinal), durable: sink.flush() }),
    close: () => sink.close(),
    dedupesByOrdinal: true,
  };
}

/**
 * How many data messages of the unit numbered `prefix` the stream's last message follows (its data
 * id + 1, or a marker's count), or undefined when another writer wrote it or it cannot be read. A sole
 * writer's messages are chained, so the last one stored is the furthest.
 */
async function storedDataEnd(link: NatsLink, stream: string, prefix: string): Promise<number | undefined> {
  try {
    const jsm = await link.jetstreamManager();
    const { state } = await jsm.streams.info(stream);
    if (state.messages === 0) return 0;
    const last = await jsm.streams.getMessage(stream, { seq: state.last_seq });
    const id = last?.header?.get('Nats-Msg-Id') ?? '';
    if (!id.startsWith(prefix)) return undefined;
    const parsed = /^(\d+)(\..*)?$/.exec(id.slice(prefix.length));
    if (parsed === null) return undefined;
    const n = Number(parsed[1]);
    return parsed[2] === undefined ? n + 1 : n;
  } catch {
    // Unknown: markers are sent as they come (a replay then costs re-sends, never correctness).
    return undefined;
  }
}
