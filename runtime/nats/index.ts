// The NATS JetStream transport: connection, stream naming and setup, ordered source, deduplicating
// sink, dead letters.
export { connectNats } from './connection.ts';
export type { NatsLink, NatsConnectionEvent, NatsConnectionState } from './connection.ts';
export {
  DEFAULT_MAX_OUTAGE_MS,
  NATS_CLI_OPTIONS,
  NATS_CLI_USAGE,
  natsFlagsFrom,
  natsUrlFrom,
  parseDurationMs,
  resolveNatsSettings,
  toConnectionOptions,
} from './connection-options.ts';
export type { NatsConnectionSettings, NatsFlags } from './connection-options.ts';
export {
  InvalidNameError,
  LifecycleStateError,
  NatsConfigError,
  NatsConnectError,
  NatsOutageError,
  PublishError,
  StreamConfigError,
} from './errors.ts';
export type { StreamConfigDifference } from './errors.ts';
export { serverFeatures } from './server-features.ts';
export type { ServerFeatures } from './server-features.ts';
export { assertSubject, assertToken, jobStreamNames, subjectStreamName } from './stream-names.ts';
export type { JobStreamNames } from './stream-names.ts';
export { ensureStream, ensureSubjectStream, streamConfigDifferences, subjectCovers } from './ensure-stream.ts';
export type { EnsureStreamResult, StreamRequirements } from './ensure-stream.ts';
export { openStreamSource } from './stream-source.ts';
export type { SourceRecord, StreamSource, StreamSourceOptions, StreamSourceState } from './stream-source.ts';
export { createStreamSink } from './stream-sink.ts';
export type { OutputMessage, StreamSink, StreamSinkOptions, StreamSinkState, StreamSinkStats } from './stream-sink.ts';
export { MIN_DUPLICATE_WINDOW_MS, outputMsgId, replayExposure, requiredDuplicateWindowMs } from './msg-id.ts';
export type { DuplicateWindowInputs, OutputCoordinates } from './msg-id.ts';
export { createDeadLetterPublisher, DeadLetterHeaders } from './dead-letters.ts';
export type { DeadLetterOptions, DeadLetterPublisher, DeadLetterMessage } from './dead-letters.ts';
export { ensureJobStreams, trimConsumed } from './job-streams.ts';
export type { JobStreams, JobStreamsSpec, StreamBinding } from './job-streams.ts';
export { jobSubjects, NATS_CHECKPOINT_TASK, runNatsJob } from './run-nats-job.ts';
export type { NatsRunOptions } from './run-nats-job.ts';
export { natsSourceBinding } from './nats-source-binding.ts';
export type { NatsSourceOptions } from './nats-source-binding.ts';
export { natsDeadLetterBinding, natsSinkBinding } from './nats-sink-binding.ts';
export type { NatsDeadLetter } from './nats-sink-binding.ts';
