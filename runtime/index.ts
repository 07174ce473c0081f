// The runtime's public API: defining jobs, and running them in this process. Curated exports.
export { defineJob, lines, jsonLines, source, json, text } from './job/define-job.ts';
export type { JobOptions, SourceOptions, ProcessOptions, Stream, KeyedStream } from './job/define-job.ts';
export { linesCodec, jsonCodec } from './job/codecs.ts';
export type { MessageCodec } from './job/codecs.ts';
export { isJob } from './job/job.ts';
export type { Job, SourceDefinition, SinkDefinition, StepDefinition, TimestampExtractor } from './job/job.ts';
export type { TaskFactory } from './job/task-factory.ts';
export { loadJob } from './job/load-job.ts';
export { createJobRuntime } from './job-runtime.ts';
export type { JobRuntime, JobRuntimeOptions, RunResult, RuntimeEvent, DeadLetters } from './job-runtime.ts';
export type {
  SourceBinding,
  SinkBinding,
  SinkCut,
  JobCheckpoints,
  RestoredCheckpoint,
  CheckpointWritten,
} from './bindings.ts';
export { createEmbeddedRuntime, DEFAULT_CHECKPOINT_INTERVAL_MS } from './embedded/embedded-runtime.ts';
export type { EmbeddedOptions } from './embedded/embedded-runtime.ts';
export type { LifecycleState } from './lifecycle.ts';
export { createLogger, isLogLevel, isLogFormat } from './log.ts';
export type { Logger, LogLevel, LogFormat, LogFields, LoggerOptions } from './log.ts';
export type { DeadLetter, DeadLetterReceiver, Outlet } from './engine/outlet.ts';
export type { DeadLetterRecord } from './io/dead-letter-file.ts';
export { FINAL_WATERMARK } from './io/file-source.ts';
export {
  ConfigError,
  JobModuleError,
  NoJobExportedError,
  JobDefinitionError,
  LifecycleError,
  InputLineTooLongError,
  InputNotUtf8Error,
  InvalidEventTimeError,
  FinalCheckpointError,
  GroupJoinError,
} from './errors.ts';
export {
  RescaleError,
  KeyGroupsChangedError,
  RescaleAfterCrashError,
  ScaleOutRescaleError,
  LayoutMismatchError,
  PendingStateWritesError,
} from './rescale-errors.ts';

// Running a job from your own code: one runtime shape for both modes (the `stator run` command is a thin layer over
// it).
export { createRuntime } from './create-runtime.ts';
export type { RuntimeOptions } from './create-runtime.ts';
// Where keyed state lives (docs/state-backends.md): RuntimeOptions.stateBackend, EmbeddedOptions.localState.
export { LocalState, DEFAULT_STATE_MEMORY_BYTES } from './state-backends/local-state.ts';
export type { StateBackendKind, LocalStateOptions, WarmCopy } from './state-backends/local-state.ts';
export { files, nats } from './transport.ts';
export type {
  Transport,
  FilesTransport,
  FilesTransportOptions,
  NatsTransport,
  NatsTransportOptions,
  GroupOptions,
  ScaleOutOptions,
} from './transport.ts';
export { DEFAULT_STATE_DIR, DEFAULT_FILES_MAX_BYTES } from './defaults.ts';

// The job's file area (ctx.files) from job code, tests and tools.
export { openDirectoryFiles, openObjectStoreFiles, filesBucketName } from './files/index.ts';
export type { DirectoryFilesOptions, ObjectStoreFilesOptions, ClosableJobFiles } from './files/index.ts';

// Checkpoint stores and NATS connections, for running, inspecting or clearing a job's checkpoints from code.
export type { CheckpointStore, StoredManifest, PartitionSeed, ReadOptions } from '../src/checkpoint/index.ts';
export {
  createFileCheckpointStore,
  openJetStreamCheckpointStore,
  NoCheckpointBucketsError,
  jetStreamBucketName,
} from './checkpoint/index.ts';
export type {
  FileCheckpointStore,
  FileCheckpointStoreOptions,
  JetStreamCheckpointStore,
  JetStreamCheckpointStoreOptions,
} from './checkpoint/index.ts';
export { connectNats, natsUrlFrom, runNatsJob, ensureJobStreams, jobSubjects } from './nats/index.ts';
export type {
  NatsLink,
  NatsFlags,
  NatsConnectionSettings,
  NatsRunOptions,
  JobStreams,
  JobStreamsSpec,
} from './nats/index.ts';

// Operating a job: the HTTP server (/metrics, /readyz, /healthz; pass it as RuntimeOptions.http) and
// the process metrics registry `stator run --http` uses.
export { startHttpServer, parseHttpAddress } from './http/index.ts';
export type { HttpServer, HttpServerOptions, HttpRoutes, HttpAddress } from './http/index.ts';
export { createProcessRegistry } from './metrics/index.ts';
export type { JobView, StageView, PartitionView, SourceView, InputLag } from './job-view.ts';

// The state API (Dapr's /v1.0/state, served on RuntimeOptions.http; docs/state-api.md).
export {
  CheckpointStateView,
  StateStores,
  StateApiError,
  StateRequestError,
  StateValueError,
  ETagMismatchError,
  StateUnavailableError,
  StateTimeoutError,
  StateTooLargeError,
} from './state-api/index.ts';
export type { StateApiOptions, LocalStateOwner, KeyRead, StateStore, EventualStateView } from './state-api/index.ts';
