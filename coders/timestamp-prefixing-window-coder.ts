import type { BoundedWindow } from './bounded-window.ts';
import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, minEncodedBytes, type Coder } from './coder.ts';
import { Context } from './context.ts';
import { readInstant, writeInstant } from './instant-coder.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam's TimestampPrefixingWindowCoder (`beam:coder:custom_window:v1`): the window's maxTimestamp
 * as InstantCoder, then the window with its own coder, NESTED (as Beam Java's encode does), so that
 * a runner that cannot decode a custom window can still read when it ends. Deterministic when the
 * window coder is.
 */
export class TimestampPrefixingWindowCoder<W extends BoundedWindow> extends BaseCoder<W> {
  static readonly URN = 'beam:coder:custom_window:v1';
  static of<W extends BoundedWindow>(windowCoder: Coder<W>): TimestampPrefixingWindowCoder<W> {
    return new TimestampPrefixingWindowCoder(windowCoder);
  }
  readonly urn = TimestampPrefixingWindowCoder.URN;

  private constructor(readonly windowCoder: Coder<W>) {
    super();
  }

  encode(value: W, writer: ByteWriter, _context: Context): void {
    if (value === null || typeof value !== 'object' || typeof value.maxTimestamp !== 'function') {
      throw new CoderError('TimestampPrefixingWindowCoder: expected a window (an object with maxTimestamp())');
    }
    writeInstant(writer, value.maxTimestamp());
    this.windowCoder.encode(value, writer, Context.NESTED);
  }

  decode(reader: ByteReader, _context: Context): W {
    readInstant(reader); // the prefix is for runners; the window itself carries its max timestamp
    return this.windowCoder.decode(reader, Context.NESTED);
  }

  override verifyDeterministic(): void {
    this.verifyComponentsDeterministic('TimestampPrefixingWindowCoder requires a deterministic window coder', [
      this.windowCoder as Coder<unknown>,
    ]);
  }

  override consistentWithEquals(): boolean {
    return this.windowCoder.consistentWithEquals();
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.windowCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return 8 + minEncodedBytes(this.windowCoder as Coder<unknown>);
  }
}
