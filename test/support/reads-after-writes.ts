// Read-your-writes on a cluster: a read that a replica behind the leader answers sees an older
// revision. Used where a read decides something (a compare-and-set revision, a liveness check).
import * as assert from 'uvu/assert';

/**
 * `rounds` writes, each through node `round % nodes`, each followed by a read through every node:
 * every read must return the revision the write just got.
 */
export async function assertEveryNodeReadsEachWrite(
  nodes: number,
  rounds: number,
  write: (node: number, round: number) => Promise<number>,
  read: (node: number) => Promise<number | undefined>,
): Promise<void> {
  const all = Array.from({ length: nodes }, (_, node) => node);
  for (let round = 0; round < rounds; round++) {
    const revision = await write(round % nodes, round);
    const reads = await Promise.all(all.map(read));
    assert.equal(
      reads,
      all.map(() => revision),
      `reads after write ${round} (through node ${round % nodes})`,
    );
  }
}
