import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, type Coder } from './coder.ts';
import type { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam's NullableCoder (`beam:coder:nullable:v1`): one byte, 0 for null or 1 for a value, then the
 * value with the component coder in the same context. Deterministic when the component is.
 * `undefined` is encoded as null (and decodes as null).
 *
 * `NullableCoder.of(c)` returns `c` itself when `c` is already a NullableCoder, as Beam Java does
 * (NullableCoderTest.testNestedNullableCoder): wrapping twice would write a second marker byte, bytes
 * Beam never produces for the same coder.
 */
export class NullableCoder<T> extends BaseCoder<T | null> {
  static readonly URN = 'beam:coder:nullable:v1';
  static of<T>(valueCoder: Coder<T>): NullableCoder<T> {
    if (valueCoder instanceof NullableCoder) return valueCoder as NullableCoder<T>;
    return new NullableCoder(valueCoder);
  }
  readonly urn = NullableCoder.URN;

  private constructor(readonly valueCoder: Coder<T>) {
    super();
  }

  encode(value: T | null, writer: ByteWriter, context: Context): void {
    if (value === null || value === undefined) {
      writer.writeByte(0);
      return;
    }
    writer.writeByte(1);
    this.valueCoder.encode(value, writer, context);
  }

  decode(reader: ByteReader, context: Context): T | null {
    const marker = reader.readByte();
    if (marker === 0) return null;
    if (marker !== 1) {
      throw new CoderError(
        `NullableCoder expects either a byte valued 0 (null) or 1 (present), got ${marker} at offset ${reader.position - 1}`,
      );
    }
    return this.valueCoder.decode(reader, context);
  }

  override verifyDeterministic(): void {
    this.verifyComponentsDeterministic('Value coder must be deterministic', [this.valueCoder as Coder<unknown>]);
  }

  override consistentWithEquals(): boolean {
    return this.valueCoder.consistentWithEquals();
  }

  override structuralValue(value: T | null): unknown {
    if (value === null || value === undefined) return null;
    return this.valueCoder.structuralValue(value);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.valueCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return 1;
  }
}
