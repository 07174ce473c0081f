import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam's BooleanCoder (`beam:coder:bool:v1`): one byte, 1 for true, 0 for false. Deterministic.
 * Stricter than Beam Java, which reads any byte other than 1 as false: here any other byte is a
 * CoderError, so corrupt input never decodes to a plausible value.
 */
export class BooleanCoder extends BaseCoder<boolean> {
  static readonly URN = 'beam:coder:bool:v1';
  private static readonly INSTANCE = new BooleanCoder();
  static of(): BooleanCoder {
    return BooleanCoder.INSTANCE;
  }
  readonly urn = BooleanCoder.URN;

  encode(value: boolean, writer: ByteWriter, _context: Context): void {
    if (typeof value !== 'boolean') throw new CoderError(`BooleanCoder: expected a boolean, got ${typeof value}`);
    writer.writeByte(value ? 1 : 0);
  }

  decode(reader: ByteReader, _context: Context): boolean {
    const b = reader.readByte();
    if (b > 1)
      throw new CoderError(
        `BooleanCoder: byte ${b} at offset ${reader.position - 1} is neither 0 (false) nor 1 (true)`,
      );
    return b === 1;
  }

  override consistentWithEquals(): boolean {
    return true;
  }

  override structuralValue(value: boolean): unknown {
    return value;
  }

  override minEncodedBytes(): number {
    return 1;
  }

  override encodesWithoutTrying(value: unknown): boolean {
    return typeof value === 'boolean';
  }
}
