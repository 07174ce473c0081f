// The balanced, sticky assignment of units to workers. Every worker computes it from its own view of
// the group's bucket; equal views give equal assignments, so the workers agree without talking.

/** What the assignment is computed from. */
export interface AssignmentInput {
  /** Every unit of the job, in a fixed order (the order ties are broken in). */
  readonly units: readonly string[];
  /** The workers to share them among (live and not leaving). */
  readonly workers: readonly string[];
  /** Who holds each unit now; units held by a worker outside `workers` count as free. */
  readonly owners: ReadonlyMap<string, string>;
}

/**
 * Each worker gets floor(U/W) or ceil(U/W) units, and as few units as possible change owner: a
 * worker keeps min(held, quota) of what it holds, and the ceil quotas go to the workers that hold the
 * most (that maximises what stays put). Deterministic in its input: workers sorted by id, units in
 * the given order. Returns unit → worker for every unit (empty when there is no worker).
 */
export function balancedAssignment({ units, workers, owners }: AssignmentInput): Map<string, string> {
  const assignment = new Map<string, string>();
  const ids = [...new Set(workers)].sort();
  if (ids.length === 0) return assignment;
  const held = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const unit of units) {
    const owner = owners.get(unit);
    if (owner !== undefined) held.get(owner)?.push(unit);
  }
  const floor = Math.floor(units.length / ids.length);
  const withCeil = units.length % ids.length;
  const byHeld = [...ids].sort((a, b) => held.get(b)!.length - held.get(a)!.length || (a < b ? -1 : a > b ? 1 : 0));
  const quota = new Map(byHeld.map((id, i) => [id, floor + (i < withCeil ? 1 : 0)]));
  for (const id of ids) {
    for (const unit of held.get(id)!.slice(0, quota.get(id))) assignment.set(unit, id);
  }
  const free = units.filter((unit) => !assignment.has(unit));
  let next = 0;
  for (const id of ids) {
    const kept = Math.min(held.get(id)!.length, quota.get(id)!);
    for (let i = kept; i < quota.get(id)!; i++) assignment.set(free[next++]!, id);
  }
  return assignment;
}
