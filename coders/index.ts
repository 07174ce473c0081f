// The public coders API. Curated: named exports only; internals stay unexported.
export { StatorError, CoderError, NonDeterministicCoderError, CannotProvideCoderError } from './stator-error.ts';
export { Context } from './context.ts';
export { ByteReader } from './byte-reader.ts';
export { ByteWriter } from './byte-writer.ts';
export { BaseCoder, structuralBytes } from './coder.ts';
export type { Coder, CoderType } from './coder.ts';
export { CoderUtils } from './coder-utils.ts';
export { CoderRegistry } from './coder-registry.ts';
export type { CoderSpec, CoderFactory } from './coder-registry.ts';

// Time and windows.
export { normalizeInstant, instantPlus, instantMinus, instantEquals } from './instant.ts';
export type { Instant } from './instant.ts';
export { BoundedWindow } from './bounded-window.ts';
export { GlobalWindow } from './global-window.ts';
export { IntervalWindow } from './interval-window.ts';
export { TimestampedValue } from './timestamped-value.ts';
export { PaneInfo, Timing } from './pane-info.ts';
export { WindowedValue } from './windowed-value.ts';
export { TimerValue } from './timer-value.ts';
export { ShardedKey } from './sharded-key.ts';
export { StateBackedIterable } from './state-backed-iterable.ts';
export type { StateBackedIterableReader } from './state-backed-iterable.ts';

// Beam's coders, by Beam Java's class names.
export { ByteArrayCoder } from './byte-array-coder.ts';
export { StringUtf8Coder } from './string-utf8-coder.ts';
export { VarIntCoder } from './var-int-coder.ts';
export { VarLongCoder } from './var-long-coder.ts';
export { VarLongNumberCoder } from './var-long-number-coder.ts';
export { BigEndianShortCoder } from './big-endian-short-coder.ts';
export { BigEndianIntegerCoder } from './big-endian-integer-coder.ts';
export { BigEndianLongCoder } from './big-endian-long-coder.ts';
export { ByteCoder } from './byte-coder.ts';
export { BooleanCoder } from './boolean-coder.ts';
export { FloatCoder } from './float-coder.ts';
export { DoubleCoder } from './double-coder.ts';
export { VoidCoder } from './void-coder.ts';
export { InstantCoder } from './instant-coder.ts';
export { DurationCoder } from './duration-coder.ts';
export { KvCoder, KV } from './kv-coder.ts';
export { IterableCoder } from './iterable-coder.ts';
export { ListCoder } from './list-coder.ts';
export { SetCoder } from './set-coder.ts';
export { MapCoder } from './map-coder.ts';
export { NullableCoder } from './nullable-coder.ts';
export { LengthPrefixCoder } from './length-prefix-coder.ts';
export { GlobalWindowCoder } from './global-window-coder.ts';
export { IntervalWindowCoder } from './interval-window-coder.ts';
export { TimestampedValueCoder } from './timestamped-value-coder.ts';
export { PaneInfoCoder } from './pane-info-coder.ts';
export { WindowedValueCoder } from './windowed-value-coder.ts';
export { ParamWindowedValueCoder } from './param-windowed-value-coder.ts';
export { TimerCoder } from './timer-coder.ts';
export { ShardedKeyCoder } from './sharded-key-coder.ts';
export { TimestampPrefixingWindowCoder } from './timestamp-prefixing-window-coder.ts';
export { StateBackedIterableCoder } from './state-backed-iterable-coder.ts';
export type { StateBackedIterableOptions } from './state-backed-iterable-coder.ts';

// Not Beam: coders for arbitrary JavaScript values.
export { MsgpackCoder } from './msgpack-coder.ts';
export { JsonCoder } from './json-coder.ts';
