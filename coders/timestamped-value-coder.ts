import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, minEncodedBytes, type Coder } from './coder.ts';
import { Context } from './context.ts';
import { readInstant, writeInstant } from './instant-coder.ts';
import { CoderError } from './stator-error.ts';
import { TimestampedValue } from './timestamped-value.ts';

/**
 * Beam Java's TimestampedValue.TimestampedValueCoder: the value NESTED, then the timestamp in
 * InstantCoder's format (8 bytes). Deterministic when the value coder is.
 */
export class TimestampedValueCoder<T> extends BaseCoder<TimestampedValue<T>> {
  static of<T>(valueCoder: Coder<T>): TimestampedValueCoder<T> {
    return new TimestampedValueCoder(valueCoder);
  }
  readonly urn = undefined;

  private constructor(readonly valueCoder: Coder<T>) {
    super();
  }

  encode(value: TimestampedValue<T>, writer: ByteWriter, _context: Context): void {
    if (!(value instanceof TimestampedValue))
      throw new CoderError(
        'TimestampedValueCoder: expected a TimestampedValue (TimestampedValue.of(value, timestamp))',
      );
    this.valueCoder.encode(value.value, writer, Context.NESTED);
    writeInstant(writer, value.timestamp);
  }

  decode(reader: ByteReader, _context: Context): TimestampedValue<T> {
    const value = this.valueCoder.decode(reader, Context.NESTED);
    return TimestampedValue.of(value, readInstant(reader));
  }

  override verifyDeterministic(): void {
    this.verifyComponentsDeterministic('TimestampedValueCoder requires a deterministic valueCoder', [
      this.valueCoder as Coder<unknown>,
    ]);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.valueCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return minEncodedBytes(this.valueCoder as Coder<unknown>) + 8;
  }
}
