import type { BoundedWindow } from './bounded-window.ts';
import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, minEncodedBytes, type Coder } from './coder.ts';
import type { Context } from './context.ts';
import { readInstant, writeInstant } from './instant-coder.ts';
import type { Instant } from './instant.ts';
import type { PaneInfo } from './pane-info.ts';
import { decodeIterable, encodeIterable } from './iterable-format.ts';
import { PaneInfoCoder } from './pane-info-coder.ts';
import { CoderError } from './stator-error.ts';
import { WindowedValue } from './windowed-value.ts';

/**
 * Beam's WindowedValue.FullWindowedValueCoder (`beam:coder:windowed_value:v1`; Python's
 * WindowedValueCoder): the timestamp as InstantCoder, the windows as an iterable (int32 count, each
 * window NESTED), the pane (PaneInfoCoder), then the value in the outer context. Deterministic when
 * the value and window coders are.
 */
export class WindowedValueCoder<T, W extends BoundedWindow = BoundedWindow> extends BaseCoder<WindowedValue<T>> {
  static readonly URN = 'beam:coder:windowed_value:v1';
  static of<T, W extends BoundedWindow>(valueCoder: Coder<T>, windowCoder: Coder<W>): WindowedValueCoder<T, W> {
    return new WindowedValueCoder(valueCoder, windowCoder);
  }
  readonly urn = WindowedValueCoder.URN;

  private constructor(
    readonly valueCoder: Coder<T>,
    readonly windowCoder: Coder<W>,
  ) {
    super();
  }

  encode(value: WindowedValue<T>, writer: ByteWriter, context: Context): void {
    if (!(value instanceof WindowedValue))
      throw new CoderError('WindowedValueCoder: expected a WindowedValue (WindowedValue.of(...))');
    writeWindowedHeader(value, this.windowCoder as Coder<BoundedWindow>, writer);
    this.valueCoder.encode(value.value, writer, context);
  }

  decode(reader: ByteReader, context: Context): WindowedValue<T> {
    const header = readWindowedHeader(this.windowCoder as Coder<BoundedWindow>, reader);
    return WindowedValue.of(this.valueCoder.decode(reader, context), header.timestamp, header.windows, header.pane);
  }

  override verifyDeterministic(): void {
    this.verifyComponentsDeterministic('FullWindowedValueCoder requires deterministic value and window coders', [
      this.valueCoder as Coder<unknown>,
      this.windowCoder as Coder<unknown>,
    ]);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.valueCoder as Coder<unknown>, this.windowCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return 8 + 4 + 1 + minEncodedBytes(this.valueCoder as Coder<unknown>);
  }
}

/** Timestamp, windows and pane: everything of a windowed value but the value. */
export function writeWindowedHeader(
  value: WindowedValue<unknown>,
  windowCoder: Coder<BoundedWindow>,
  writer: ByteWriter,
): void {
  writeInstant(writer, value.timestamp);
  encodeIterable(windowCoder, value.windows as BoundedWindow[], writer, 'WindowedValueCoder windows');
  PaneInfoCoder.of().encode(value.pane, writer, 'nested');
}

/** The parts of a windowed value before its value. */
export interface WindowedHeader {
  readonly timestamp: Instant;
  readonly windows: readonly BoundedWindow[];
  readonly pane: PaneInfo;
}

export function readWindowedHeader(windowCoder: Coder<BoundedWindow>, reader: ByteReader): WindowedHeader {
  const timestamp = readInstant(reader);
  const windows: BoundedWindow[] = [];
  decodeIterable(windowCoder, reader, 'WindowedValueCoder windows', (w) => windows.push(w));
  const pane = PaneInfoCoder.of().decode(reader, 'nested');
  return { timestamp, windows, pane };
}
