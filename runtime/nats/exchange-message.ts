// The messages of a keyed exchange between the units of a scaled-out job: data (event time and the
// value), and the markers that carry event time across workers (a unit's watermark, or that it went
// idle). MessagePack via msgpackr, without records (bytes must not depend on what was encoded
// before), so a value crossing an exchange is plain data: what MsgpackCoder documents it keeps.
import { Packr } from 'msgpackr';
import { ExchangeMessageError } from './errors.ts';

const packr = new Packr({ useRecords: false, moreTypes: true, int64AsType: 'auto' } as unknown as ConstructorParameters<
  typeof Packr
>[0]);

const DATA = 0;
const WATERMARK = 1;
const IDLE = 2;

/** One decoded exchange message. `from` is the index of the upstream unit among the stage's inputs. */
export type ExchangeMessage =
  | { readonly kind: 'data'; readonly timestamp: number; readonly value: unknown }
  | { readonly kind: 'watermark'; readonly from: number; readonly watermark: number }
  | { readonly kind: 'idle'; readonly from: number };

export function encodeExchangeData(timestamp: number, value: unknown): Uint8Array {
  return packr.pack([DATA, timestamp, value]);
}

export function encodeExchangeWatermark(from: number, watermark: number): Uint8Array {
  return packr.pack([WATERMARK, from, watermark]);
}

export function encodeExchangeIdle(from: number): Uint8Array {
  return packr.pack([IDLE, from]);
}

/** @throws ExchangeMessageError when the bytes are not an exchange message. */
export function decodeExchangeMessage(bytes: Uint8Array): ExchangeMessage {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch (cause) {
    throw new ExchangeMessageError(
      `an exchange message of ${bytes.length} bytes is not MessagePack: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (Array.isArray(decoded)) {
    const [kind, a, b] = decoded as [unknown, unknown, unknown];
    if (kind === DATA && typeof a === 'number' && decoded.length === 3) return { kind: 'data', timestamp: a, value: b };
    if (kind === WATERMARK && typeof a === 'number' && typeof b === 'number')
      return { kind: 'watermark', from: a, watermark: b };
    if (kind === IDLE && typeof a === 'number') return { kind: 'idle', from: a };
  }
  throw new ExchangeMessageError(
    'an exchange message is not [kind, ...] as stator writes it: was it published by something other than a stator worker?',
  );
}
