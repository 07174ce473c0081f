import type { BoundedWindow } from './bounded-window.ts';
import { ByteReader } from './byte-reader.ts';
import { ByteWriter } from './byte-writer.ts';
import { BaseCoder, minEncodedBytes, type Coder } from './coder.ts';
import type { Context } from './context.ts';
import type { Instant } from './instant.ts';
import type { PaneInfo } from './pane-info.ts';
import { CoderError } from './stator-error.ts';
import { WindowedValue } from './windowed-value.ts';
import { readWindowedHeader, writeWindowedHeader } from './windowed-value-coder.ts';

/**
 * Beam's WindowedValue.ParamWindowedValueCoder (`beam:coder:param_windowed_value:v1`): writes only
 * the value (in the outer context) and gives every decoded value the same timestamp, windows and
 * pane, fixed by the coder. Those travel as the coder's payload: a windowed value with an empty byte
 * array as its value, encoded NESTED with a bytes value coder and this window coder (what Beam Java's
 * getPayload writes). Reading a payload, the bytes after the pane are ignored, so Python's OUTER
 * payloads (no trailing empty-array byte) are read too. Deterministic when the value coder is.
 */
export class ParamWindowedValueCoder<T, W extends BoundedWindow = BoundedWindow> extends BaseCoder<WindowedValue<T>> {
  static readonly URN = 'beam:coder:param_windowed_value:v1';

  /** The coder whose fixed timestamp, windows and pane are read from `payload` (see the class doc). */
  static of<T, W extends BoundedWindow>(
    valueCoder: Coder<T>,
    windowCoder: Coder<W>,
    payload: Uint8Array,
  ): ParamWindowedValueCoder<T, W> {
    if (!(payload instanceof Uint8Array))
      throw new CoderError('ParamWindowedValueCoder: the payload must be a Uint8Array');
    const header = readWindowedHeader(windowCoder as Coder<BoundedWindow>, new ByteReader(payload));
    return new ParamWindowedValueCoder(
      valueCoder,
      windowCoder,
      header.timestamp,
      header.windows,
      header.pane,
      payload.slice(),
    );
  }

  /** The coder for a fixed timestamp, windows and pane (Beam Java's ParamWindowedValueCoder.of with parameters). */
  static withParams<T, W extends BoundedWindow>(
    valueCoder: Coder<T>,
    windowCoder: Coder<W>,
    timestamp: Instant,
    windows: Iterable<W>,
    pane: PaneInfo,
  ): ParamWindowedValueCoder<T, W> {
    const params = WindowedValue.of<Uint8Array>(new Uint8Array(0), timestamp, windows, pane);
    const writer = new ByteWriter(32);
    writeWindowedHeader(params, windowCoder as Coder<BoundedWindow>, writer);
    writer.writeByte(0); // the empty byte array, NESTED
    return new ParamWindowedValueCoder(
      valueCoder,
      windowCoder,
      params.timestamp,
      params.windows,
      params.pane,
      writer.toBytes(),
    );
  }

  readonly urn = ParamWindowedValueCoder.URN;

  private constructor(
    readonly valueCoder: Coder<T>,
    readonly windowCoder: Coder<W>,
    readonly timestamp: Instant,
    readonly windows: readonly BoundedWindow[],
    readonly pane: PaneInfo,
    private readonly payloadBytes: Uint8Array,
  ) {
    super();
  }

  /** The coder's payload (a copy), as carried in Beam's runner API. */
  get payload(): Uint8Array {
    return this.payloadBytes.slice();
  }

  encode(value: WindowedValue<T>, writer: ByteWriter, context: Context): void {
    if (!(value instanceof WindowedValue))
      throw new CoderError('ParamWindowedValueCoder: expected a WindowedValue (WindowedValue.of(...))');
    this.valueCoder.encode(value.value, writer, context);
  }

  decode(reader: ByteReader, context: Context): WindowedValue<T> {
    return WindowedValue.of(this.valueCoder.decode(reader, context), this.timestamp, this.windows, this.pane);
  }

  override verifyDeterministic(): void {
    this.verifyComponentsDeterministic('ParamWindowedValueCoder requires a deterministic value coder', [
      this.valueCoder as Coder<unknown>,
    ]);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.valueCoder as Coder<unknown>, this.windowCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return minEncodedBytes(this.valueCoder as Coder<unknown>);
  }
}
