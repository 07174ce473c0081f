// The state API: a job's keyed state from outside the job, Dapr's state API over HTTP.
export { serveStateApi } from './serve-state-api.ts';
export type { StateApiOptions, ServedStateApi, ServeStateApiOptions } from './serve-state-api.ts';
export { FileCommandLog, stateCommandLogPath } from './file-command-log.ts';
export { JetStreamCommandLog, clearStateCommands } from './jetstream-command-log.ts';
export { serveWorkerStateApi, stateCommandsInput } from './serve-nats-state-api.ts';
export type { UnitStateApi, WorkerStateApi, WorkerStateApiOptions } from './serve-nats-state-api.ts';
export { ForwardingStateOwners } from './forwarding-owners.ts';
export type { LocalPartitions } from './forwarding-owners.ts';
export { appendCommand } from './state-command.ts';
export type {
  AppendDone,
  AppendedCommand,
  CommandLane,
  CommandLanes,
  LoggedCommand,
  StateCommand,
  StateCommandLog,
  StateCommandRecord,
  StateCommandResult,
  StateOperation,
} from './state-command.ts';
export { StateService } from './state-service.ts';
export type { Consistency, StateWrite, StateServiceOptions } from './state-service.ts';
export { StateStores } from './state-stores.ts';
export type { StateStore } from './state-stores.ts';
export { CheckpointStateView } from './checkpoint-state-view.ts';
export type { EventualStateView } from './checkpoint-state-view.ts';
export { UnitCheckpointViews } from './unit-checkpoint-views.ts';
export { LocalStateOwner, STATE_COMMANDS_INPUT } from './state-owner.ts';
export type { KeyRead, StateOwners } from './state-owner.ts';
export {
  StateApiError,
  StateRequestError,
  StateValueError,
  ETagMismatchError,
  StateUnavailableError,
  StateTimeoutError,
  StateTooLargeError,
} from './state-api-errors.ts';
export { toJson, fromJson } from './state-json.ts';
export type { Json } from './state-json.ts';
