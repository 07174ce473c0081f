import type { BoundedWindow } from './bounded-window.ts';
import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, minEncodedBytes, type Coder } from './coder.ts';
import { Context } from './context.ts';
import { readInstant, writeInstant } from './instant-coder.ts';
import { decodeIterable, encodeIterable } from './iterable-format.ts';
import { PaneInfoCoder } from './pane-info-coder.ts';
import { CoderError } from './stator-error.ts';
import { StringUtf8Coder } from './string-utf8-coder.ts';
import { TimerValue } from './timer-value.ts';

/**
 * Beam's Timer.Coder (`beam:coder:timer:v1`; Python's _TimerCoder): the user key NESTED, the tag
 * as a NESTED UTF-8 string, the windows as an iterable (int32 count, each NESTED), the clear bit
 * (one byte); unless cleared, then the fire and hold timestamps (InstantCoder) and the pane. Every
 * part is self-delimiting, so the context does not matter. Deterministic when the key and window
 * coders are.
 */
export class TimerCoder<K, W extends BoundedWindow = BoundedWindow> extends BaseCoder<TimerValue<K>> {
  static readonly URN = 'beam:coder:timer:v1';
  static of<K, W extends BoundedWindow>(keyCoder: Coder<K>, windowCoder: Coder<W>): TimerCoder<K, W> {
    return new TimerCoder(keyCoder, windowCoder);
  }
  readonly urn = TimerCoder.URN;

  private constructor(
    readonly keyCoder: Coder<K>,
    readonly windowCoder: Coder<W>,
  ) {
    super();
  }

  encode(value: TimerValue<K>, writer: ByteWriter, _context: Context): void {
    if (!(value instanceof TimerValue))
      throw new CoderError('TimerCoder: expected a TimerValue (TimerValue.of or TimerValue.cleared)');
    this.keyCoder.encode(value.userKey, writer, Context.NESTED);
    StringUtf8Coder.of().encode(value.dynamicTimerTag, writer, Context.NESTED);
    encodeIterable(
      this.windowCoder as Coder<BoundedWindow>,
      value.windows as BoundedWindow[],
      writer,
      'TimerCoder windows',
    );
    writer.writeByte(value.clearBit ? 1 : 0);
    if (!value.clearBit) {
      writeInstant(writer, value.fireTimestamp!);
      writeInstant(writer, value.holdTimestamp!);
      PaneInfoCoder.of().encode(value.pane!, writer, Context.NESTED);
    }
  }

  decode(reader: ByteReader, _context: Context): TimerValue<K> {
    const userKey = this.keyCoder.decode(reader, Context.NESTED);
    const tag = StringUtf8Coder.of().decode(reader, Context.NESTED);
    const windows: BoundedWindow[] = [];
    decodeIterable(this.windowCoder as Coder<BoundedWindow>, reader, 'TimerCoder windows', (w) => windows.push(w));
    const offset = reader.position;
    const clearBit = reader.readByte();
    if (clearBit === 1) return TimerValue.cleared(userKey, tag, windows);
    if (clearBit !== 0)
      throw new CoderError(`TimerCoder: clear bit ${clearBit} at offset ${offset} is neither 0 nor 1`);
    const fire = readInstant(reader);
    const hold = readInstant(reader);
    return TimerValue.of(userKey, tag, windows, fire, hold, PaneInfoCoder.of().decode(reader, Context.NESTED));
  }

  override verifyDeterministic(): void {
    this.verifyComponentsDeterministic('Timer.Coder requires deterministic key and window coders', [
      this.keyCoder as Coder<unknown>,
      this.windowCoder as Coder<unknown>,
    ]);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.keyCoder as Coder<unknown>, this.windowCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return minEncodedBytes(this.keyCoder as Coder<unknown>) + 1 + 4 + 1;
  }
}
