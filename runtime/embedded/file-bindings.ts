import { ConfigError } from '../errors.ts';
import type { SinkBinding, SourceBinding } from '../bindings.ts';
import type { DeadLetterReceiver, Outlet } from '../engine/outlet.ts';
import type { SinkDefinition, SourceDefinition } from '../job/job.ts';
import { DeadLetterFile } from '../io/dead-letter-file.ts';
import { FileSink } from '../io/file-sink.ts';
import { FileSource } from '../io/file-source.ts';
import type { Logger } from '../log.ts';
import type { FileSourceOptions } from '../io/file-source.ts';

/** A file sink's checkpoint record: its committed length in bytes, as decimal text. */
export function encodeCommittedLength(length: number): Uint8Array {
  return new TextEncoder().encode(String(length));
}

export function decodeCommittedLength(record: Uint8Array, sink: string): number {
  const length = Number(new TextDecoder().decode(record));
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new ConfigError(
      `the checkpoint's record for sink ${sink} is not a file length; was the job's sink changed? clear its checkpoints to start over`,
    );
  }
  return length;
}

/** Binds a job's source to a file (embedded mode). */
export function fileSourceBinding<T>(
  definition: SourceDefinition<T>,
  options: FileSourceOptions,
  entry: Outlet,
  deadLetter: DeadLetterReceiver,
): SourceBinding {
  return new FileSource(definition, options, entry, deadLetter);
}

function sinkBinding(name: string, sink: FileSink<never>): SinkBinding {
  return {
    name,
    outlet: sink,
    open: (record) =>
      record === undefined ? sink.open(0, true) : sink.open(decodeCommittedLength(record, name), false),
    cut: () => {
      const length = sink.appendedLength;
      return { record: encodeCommittedLength(length), durable: sink.durableTo(length) };
    },
    close: () => sink.close(),
  };
}

/** Binds a job's sink to a JSON-lines (or text) file (embedded mode). */
export function fileSinkBinding<T>(
  definition: SinkDefinition<T>,
  path: string,
  deadLetter: DeadLetterReceiver,
  onError: (error: unknown) => void,
  logger?: Logger,
): SinkBinding {
  const sink = new FileSink<T>(
    { name: definition.name, path, onError, ...(logger === undefined ? {} : { logger }) },
    definition.codec,
    deadLetter,
  );
  return sinkBinding(definition.name, sink as FileSink<never>);
}

/** The dead-letter file (embedded mode), as a sink binding plus its receiver. */
export function deadLetterFileBinding(
  path: string,
  onError: (error: unknown) => void,
  logger?: Logger,
): { binding: SinkBinding; receive: DeadLetterReceiver; count: () => number } {
  const file = new DeadLetterFile(path, onError, logger);
  return {
    binding: sinkBinding('dead-letter', file.sink as FileSink<never>),
    receive: file.receive,
    count: () => file.count,
  };
}
