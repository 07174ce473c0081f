import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam Java's VoidCoder: the only value is `null`, encoded as no bytes at all. Deterministic.
 * `undefined` is accepted on encoding and decodes as `null`.
 */
export class VoidCoder extends BaseCoder<null> {
  private static readonly INSTANCE = new VoidCoder();
  static of(): VoidCoder {
    return VoidCoder.INSTANCE;
  }
  readonly urn = undefined;

  encode(value: null, _writer: ByteWriter, _context: Context): void {
    if (value !== null && value !== undefined) throw new CoderError(`VoidCoder: expected null, got ${typeof value}`);
  }

  decode(_reader: ByteReader, _context: Context): null {
    return null;
  }

  override consistentWithEquals(): boolean {
    return true;
  }

  override structuralValue(_value: null): unknown {
    return null;
  }
}
