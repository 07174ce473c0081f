import type { FileData } from '../../src/files/index.ts';

/** The chunks of what `put` was given, whatever its form (bytes, text, web stream, Node Readable). */
export async function* chunksOf(data: FileData): AsyncGenerator<Uint8Array> {
  if (typeof data === 'string') {
    yield Buffer.from(data, 'utf8');
  } else if (data instanceof Uint8Array) {
    yield data;
  } else if (isReadableStream(data)) {
    const reader = data.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield checkChunk(value);
      }
    } finally {
      reader.releaseLock();
    }
  } else if (data !== null && typeof data === 'object' && Symbol.asyncIterator in data) {
    for await (const chunk of data) yield checkChunk(chunk);
  } else {
    throw new TypeError(
      `put() takes a Uint8Array, a string, a ReadableStream or an async iterable of Uint8Array, got ${data === null ? 'null' : typeof data}`,
    );
  }
}

function isReadableStream(data: FileData): data is ReadableStream<Uint8Array> {
  return typeof (data as { getReader?: unknown }).getReader === 'function';
}

function checkChunk(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  // A Node Readable in object or text mode yields strings: taken as UTF-8, as a string `data` is.
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError(`put(): a stream chunk is ${chunk === null ? 'null' : typeof chunk}, not a Uint8Array`);
}
