import { CoderError } from './stator-error.ts';

/** Fetches the elements an opaque state token stands for (Beam: over the Fn state API). */
export type StateBackedIterableReader<T> = (token: Uint8Array) => Iterable<T>;

/**
 * An iterable whose first elements are inline and whose rest is stored elsewhere under an opaque
 * token (Beam's StateBackedIterable): what StateBackedIterableCoder decodes when the encoding ends
 * with a token. Iterating yields the prefix, then what the reader returns for the token; without a
 * reader, iterating past the prefix throws a CoderError.
 */
export class StateBackedIterable<T> implements Iterable<T> {
  private readonly tokenBytes: Uint8Array;

  constructor(
    /** The elements written inline, before the token. */
    readonly prefix: readonly T[],
    token: Uint8Array,
    private readonly reader?: StateBackedIterableReader<T>,
  ) {
    if (!(token instanceof Uint8Array)) throw new CoderError('StateBackedIterable: the token must be a Uint8Array');
    this.tokenBytes = token.slice();
  }

  /** The opaque token of the stored rest (a copy). */
  get token(): Uint8Array {
    return this.tokenBytes.slice();
  }

  *[Symbol.iterator](): Iterator<T> {
    yield* this.prefix;
    if (this.reader === undefined) {
      throw new CoderError(
        `StateBackedIterable: the elements after the first ${this.prefix.length} are stored under a state token and this coder has no readState; build the coder with StateBackedIterableCoder.of(elementCoder, { readState })`,
      );
    }
    yield* this.reader(this.token);
  }
}
