import type { ByteReader } from './byte-reader.ts';
import { ByteWriter } from './byte-writer.ts';
import { BaseCoder, type Coder } from './coder.ts';
import { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam's LengthPrefixCoder (`beam:coder:length_prefix:v1`): the value's OUTER encoding prefixed by
 * its byte length as a varint, in either context. Lets a runner skip or copy a value it cannot
 * decode. Deterministic when the component is.
 */
export class LengthPrefixCoder<T> extends BaseCoder<T> {
  static readonly URN = 'beam:coder:length_prefix:v1';
  static of<T>(valueCoder: Coder<T>): LengthPrefixCoder<T> {
    return new LengthPrefixCoder(valueCoder);
  }
  readonly urn = LengthPrefixCoder.URN;
  // Values are encoded here first to learn their length; reused, since encode is not re-entrant
  // for one coder instance except through a nested LengthPrefixCoder of the same instance.
  private scratch: ByteWriter | undefined = new ByteWriter(64);

  private constructor(readonly valueCoder: Coder<T>) {
    super();
  }

  encode(value: T, writer: ByteWriter, _context: Context): void {
    const own = this.scratch ?? new ByteWriter(64);
    this.scratch = undefined;
    try {
      own.reset();
      this.valueCoder.encode(value, own, Context.OUTER);
      writer.writeVarUint32(own.length);
      writer.writeBytes(own.view());
    } finally {
      this.scratch = own;
    }
  }

  decode(reader: ByteReader, _context: Context): T {
    const n = reader.readLength('length prefix');
    const sub = reader.subReader(n);
    const value = this.valueCoder.decode(sub, Context.OUTER);
    if (!sub.isAtEnd()) {
      throw new CoderError(
        `LengthPrefixCoder: ${sub.remaining} of the ${n} prefixed bytes left after decoding ${this.valueCoder.toString()}`,
      );
    }
    return value;
  }

  override verifyDeterministic(): void {
    this.verifyComponentsDeterministic('Value coder must be deterministic', [this.valueCoder as Coder<unknown>]);
  }

  override consistentWithEquals(): boolean {
    return this.valueCoder.consistentWithEquals();
  }

  override structuralValue(value: T): unknown {
    return this.valueCoder.structuralValue(value);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.valueCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return 1;
  }
}
