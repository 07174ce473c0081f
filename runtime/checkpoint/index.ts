// Checkpoint stores and the coordinator the runtime drives. Curated exports.
export { createFileCheckpointStore } from './file-store.ts';
export type { FileCheckpointStore, FileCheckpointStoreOptions } from './file-store.ts';
export { createCheckpointCoordinator } from './checkpoint-coordinator.ts';
export type {
  CheckpointCoordinator,
  CheckpointCoordinatorOptions,
  CoordinatorState,
  StartOptions,
} from './checkpoint-coordinator.ts';
export { NoCheckpointBucketsError, openJetStreamCheckpointStore } from './jetstream-store.ts';
export type { JetStreamCheckpointStore, JetStreamCheckpointStoreOptions } from './jetstream-store.ts';
export { jetStreamBucketName } from './jetstream-bucket-name.ts';
