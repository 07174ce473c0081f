// The public coders API. Curated: named exports only; internals stay unexported.
export { StatorError, CoderError, NonDeterministicCoderError } from './stator-error.ts';
export { Context } from './context.ts';
export { ByteReader } from './byte-reader.ts';
export { ByteWriter } from './byte-writer.ts';
export { BaseCoder, structuralBytes } from './coder.ts';
export type { Coder, CoderType } from './coder.ts';
export { CoderUtils } from './coder-utils.ts';

// Time and windows.
export { normalizeInstant, instantPlus, instantMinus, instantEquals } from './instant.ts';
export type { Instant } from './instant.ts';
export { BoundedWindow } from './bounded-window.ts';
export { GlobalWindow } from './global-window.ts';
export { IntervalWindow } from './interval-window.ts';
export { TimestampedValue } from './timestamped-value.ts';

// Coders.
export { StringUtf8Coder } from './string-utf8-coder.ts';
export { VarLongCoder } from './var-long-coder.ts';
export { KvCoder, KV } from './kv-coder.ts';
