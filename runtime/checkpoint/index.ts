// Checkpoint stores and the coordinator the runtime drives. Curated exports.
export { createFileCheckpointStore } from './file-store.ts';
export type { FileCheckpointStore, FileCheckpointStoreOptions } from './file-store.ts';
export { createCheckpointCoordinator } from './checkpoint-coordinator.ts';
export type { CheckpointCoordinator, CheckpointCoordinatorOptions, CoordinatorState, StartOptions } from './checkpoint-coordinator.ts';
