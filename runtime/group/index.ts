// A job's worker group: membership, unit leases with fencing, balanced sticky assignment
// (docs/scale-out.md, "Membership and leases"). Curated exports.
export { joinWorkerGroup, DEFAULT_LEASE_TTL_MS, DEFAULT_MAX_UNIT_FAILURES } from './worker-group.ts';
export type { WorkerGroup, WorkerGroupOptions, GroupEvent, GroupState, TookReason } from './worker-group.ts';
export type { UnitHost, UnitLease, UnitProgress, UnitFailure } from './unit-host.ts';
export { balancedAssignment } from './assignment.ts';
export type { AssignmentInput } from './assignment.ts';
export { readGroupStatus } from './group-status.ts';
export type { GroupStatus, WorkerStatus, UnitStatus } from './group-status.ts';
export { groupBucketName } from './group-bucket.ts';
