// The checkpoint layer: format, service, trigger policy and the in-memory store. Curated exports.
export type { CheckpointStore, StoredManifest } from './checkpoint-store.ts';
export { PART_NAME_PATTERN } from './checkpoint-store.ts';
export {
  FencedError,
  CheckpointCorruptError,
  CheckpointPartMissingError,
  CheckpointNotFoundError,
  CheckpointStoreError,
  CheckpointConfigError,
  CheckpointInProgressError,
  JobRunningError,
} from './errors.ts';
export type { Compression } from './envelope.ts';
export { envelopeIsIntact } from './envelope.ts';
export type {
  CheckpointDescriptor,
  PartitionCheckpoint,
  SegmentRef,
  CheckpointStats,
} from './checkpoint-descriptor.ts';
export type { CheckpointInfo, Lease } from './manifest.ts';
export type { CheckpointsOptions, ProcessIdentity } from './checkpoint-options.ts';
export type { CheckpointSnapshot, PartitionSnapshot } from './checkpoint-writer.ts';
export type { PartitionRestore, ReadOptions } from './checkpoint-reader.ts';
export { partitionStateDigest } from './partition-state-digest.ts';
export type {
  Checkpoints,
  LoadedCheckpoint,
  PartitionSeed,
  WriteOptions,
  WriteResult,
  PruneResult,
} from './checkpoints.ts';
export { createCheckpoints } from './checkpoints.ts';
export { CheckpointTrigger, CheckpointReason } from './checkpoint-trigger.ts';
export type { CheckpointTriggerOptions } from './checkpoint-trigger.ts';
export { createMemoryCheckpointStore } from './memory-store.ts';
export type { MemoryCheckpointStore, MemoryStoreFaults } from './memory-store.ts';
