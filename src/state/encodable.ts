import { BaseCoder, ByteWriter, type Coder, type Context } from '../../coders/index.ts';
import { StateValueNotEncodableError } from './state-errors.ts';

// One scratch writer for every check: the bytes are thrown away, only the coder's verdict counts.
let scratch = new ByteWriter(256);
/** A scratch writer grown beyond this by one large value is dropped rather than kept for good. */
const SCRATCH_KEEP_BYTES = 1 << 20;

/**
 * Encodes `value` with `coder` and throws if it cannot: state calls this on every value it is given,
 * before changing anything, so a bad value fails the turn that wrote it and never reaches a
 * checkpoint (where it would fail every capture, not one message). `what` names the value in the
 * error, e.g. `MapState.put key`.
 * @throws StateValueNotEncodableError with the coder's error as `cause`.
 */
export function checkEncodable<T>(coder: Coder<T>, value: T, context: Context, what: string): void {
  // A type test answers for the common coders (a number for VarLongCoder...): no encode. Kept
  // apart from the encode so that this part inlines into the write.
  if (!(coder instanceof BaseCoder && coder.encodesWithoutTrying(value))) encodeToCheck(coder, value, context, what);
}

function encodeToCheck<T>(coder: Coder<T>, value: T, context: Context, what: string): void {
  const writer = scratch;
  writer.reset();
  try {
    coder.encode(value, writer, context);
  } catch (cause) {
    throw new StateValueNotEncodableError(`${what} ${describe(value)}`, String(coder), { cause });
  } finally {
    if (writer.capacity > SCRATCH_KEEP_BYTES) scratch = new ByteWriter(256);
  }
}

/** A short description of a value for an error message. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  const type = Array.isArray(value) ? 'array' : typeof value;
  if (type === 'string') {
    const s = value as string;
    return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);
  }
  if (type === 'number' || type === 'bigint' || type === 'boolean') return `(${type}) ${String(value)}`;
  return `(${type})`;
}
