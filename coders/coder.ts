import type { ByteReader } from './byte-reader.ts';
import { ByteWriter } from './byte-writer.ts';
import type { Context } from './context.ts';
import { NonDeterministicCoderError } from './stator-error.ts';

/**
 * Turns values of type T into bytes and back, byte-identical to Apache Beam's coder of the same name.
 *
 * Every state cell, checkpoint and message goes through a coder, so coders are the wire format of
 * stator: a coder's bytes must never change once released.
 */
export interface Coder<T> {
  /** Beam's URN when this is one of Beam's standard coders (`beam:coder:varint:v1`), else undefined. */
  readonly urn: string | undefined;

  /**
   * Writes `value`. In the NESTED context the bytes must be self-delimiting (more bytes may follow);
   * in the OUTER context the value owns the rest of the byte string.
   * @throws CoderError when the value cannot be encoded (wrong type, out of range).
   */
  encode(value: T, writer: ByteWriter, context: Context): void;

  /**
   * Reads one value written by `encode` in the same context.
   * @throws CoderError on truncated or malformed bytes, never returning a wrong value.
   */
  decode(reader: ByteReader, context: Context): T;

  /**
   * Throws a NonDeterministicCoderError (naming this coder and why) unless equal values always
   * encode to equal bytes. Keys and set/map elements are compared by their bytes, so their coders
   * must pass this.
   */
  verifyDeterministic(): void;

  /**
   * True when two values are equal exactly when their encodings are equal *and* JavaScript's
   * SameValueZero (what Map and Set use) already compares them by value: in JS that means the
   * values are primitives (string, number, bigint, boolean, null). Such values are also immutable,
   * so state may hold them without copying.
   */
  consistentWithEquals(): boolean;

  /**
   * A value usable as a Map/Set key that is equal for values that encode equally: the value itself
   * when `consistentWithEquals()`, else its encoded bytes as a Latin-1 string.
   */
  structuralValue(value: T): unknown;

  /** The component coders, e.g. the key and value coders of a KvCoder. */
  getCoderArguments(): readonly Coder<unknown>[];

  /** A readable description such as `KvCoder(StringUtf8Coder, VarLongCoder)`. */
  toString(): string;
}

/** The type a coder encodes. */
export type CoderType<C> = C extends Coder<infer T> ? T : never;

/**
 * Shared behaviour of concrete coders: structural values from encoded bytes, determinism checks
 * over component coders, and a readable name. Subclasses implement encode/decode.
 */
export abstract class BaseCoder<T> implements Coder<T> {
  abstract readonly urn: string | undefined;
  abstract encode(value: T, writer: ByteWriter, context: Context): void;
  abstract decode(reader: ByteReader, context: Context): T;

  /** Deterministic unless a component coder is not; atomic coders that are not override this. */
  verifyDeterministic(): void {
    this.verifyComponentsDeterministic('component coders must be deterministic', this.getCoderArguments());
  }

  /** Throws, naming this coder, `reason` and each component's own reason, if any component is not deterministic. */
  protected verifyComponentsDeterministic(reason: string, components: readonly Coder<unknown>[]): void {
    const reasons: string[] = [];
    for (const component of components) {
      try {
        component.verifyDeterministic();
      } catch (err) {
        if (err instanceof NonDeterministicCoderError) reasons.push(err.message);
        else throw err;
      }
    }
    if (reasons.length > 0)
      throw new NonDeterministicCoderError(this.toString(), [`${reason} (${reasons.join('; ')})`]);
  }

  /**
   * A lower bound on the size of one NESTED encoding. Decoders of counted collections use it to
   * reject a count the remaining bytes cannot hold before allocating anything. 0 means "may be
   * empty" (VoidCoder, GlobalWindowCoder), for which counts are capped instead.
   */
  minEncodedBytes(): number {
    return 0;
  }

  /**
   * True when `encode(value)` certainly succeeds, in either context, decided by a test of the
   * value alone (its type, its range) without encoding it; false when that takes encoding it.
   * State checks every value written to it (encode once, bytes dropped): for the common coders
   * this answers instead. Must never be true for a value `encode` would refuse.
   */
  encodesWithoutTrying(_value: unknown): boolean {
    return false;
  }

  consistentWithEquals(): boolean {
    return false;
  }

  structuralValue(value: T): unknown {
    if (this.consistentWithEquals()) return value;
    return structuralBytes(this, value);
  }

  getCoderArguments(): readonly Coder<unknown>[] {
    return [];
  }

  toString(): string {
    const args = this.getCoderArguments();
    const name = this.constructor.name;
    return args.length === 0 ? name : `${name}(${args.map((c) => c.toString()).join(', ')})`;
  }
}

// One scratch writer for structural values: structuralValue is on the per-element path of
// Set/Map state, and the string made from it is a copy, so the writer can be reused at once.
// A nested call (a coder whose encode asks for a structural value) gets a writer of its own.
let scratch = new ByteWriter(256);
let scratchBusy = false;

/** A coder's minimum NESTED size (0 when unknown: a Coder not built on BaseCoder). */
export function minEncodedBytes(coder: Coder<unknown>): number {
  return coder instanceof BaseCoder ? coder.minEncodedBytes() : 0;
}

/** The OUTER encoding of `value` as a Latin-1 string: one char per byte, usable as a Map key. */
export function structuralBytes<T>(coder: Coder<T>, value: T): string {
  if (scratchBusy) {
    const own = new ByteWriter(64);
    coder.encode(value, own, 'outer');
    return own.latin1();
  }
  scratchBusy = true;
  try {
    scratch.reset();
    coder.encode(value, scratch, 'outer');
    return scratch.latin1();
  } finally {
    scratchBusy = false;
    // Do not keep a buffer grown by one huge value alive for the life of the process.
    if (scratch.capacity > 1 << 20) scratch = new ByteWriter(256);
  }
}
