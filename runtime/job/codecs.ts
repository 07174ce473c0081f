/**
 * How messages of a logical input or output are written as text: one message per line (the unit
 * of the file source/sink in embedded mode; one NATS message in NATS mode).
 *
 * `decode` may throw: the runtime sends an undecodable message to the dead-letter sink with the
 * error and its input position, and goes on.
 */
export interface MessageCodec<T> {
  /** A readable name for logs and dead letters, e.g. `lines` or `json`. */
  readonly name: string;
  decode(text: string): T;
  /** One line of text, without the line terminator (it must not contain `\n`). */
  encode(value: T): string;
}

/** Lines of text, taken as they are (without the line terminator; a trailing `\r` is dropped). */
export function linesCodec(): MessageCodec<string> {
  return {
    name: 'lines',
    decode: (text) => (text.endsWith('\r') ? text.slice(0, -1) : text),
    encode: (value) => {
      const text = String(value);
      // A newline inside a value would split it into two messages on the way back in.
      return text.includes('\n') ? text.replace(/\r?\n/g, ' ') : text;
    },
  };
}

/** One JSON document per line (JSON Lines). */
export function jsonCodec<T = unknown>(): MessageCodec<T> {
  return {
    name: 'json',
    decode: (text) => JSON.parse(text) as T,
    encode: (value) => {
      const text = JSON.stringify(value);
      // JSON.stringify(undefined) is undefined; a line must exist for each output.
      return text === undefined ? 'null' : text;
    },
  };
}
