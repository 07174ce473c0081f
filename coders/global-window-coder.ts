import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { GlobalWindow } from './global-window.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam's GlobalWindow.Coder (`beam:coder:global_window:v1`): GlobalWindow.INSTANCE as no bytes.
 * Deterministic.
 */
export class GlobalWindowCoder extends BaseCoder<GlobalWindow> {
  static readonly URN = 'beam:coder:global_window:v1';
  static readonly INSTANCE = new GlobalWindowCoder();
  static of(): GlobalWindowCoder {
    return GlobalWindowCoder.INSTANCE;
  }
  readonly urn = GlobalWindowCoder.URN;

  encode(value: GlobalWindow, _writer: ByteWriter, _context: Context): void {
    if (!(value instanceof GlobalWindow)) throw new CoderError('GlobalWindowCoder: expected GlobalWindow.INSTANCE');
  }

  decode(_reader: ByteReader, _context: Context): GlobalWindow {
    return GlobalWindow.INSTANCE;
  }

  /** There is one global window, so the object itself is its structural value. */
  override consistentWithEquals(): boolean {
    return true;
  }

  override structuralValue(value: GlobalWindow): unknown {
    return value;
  }
}
