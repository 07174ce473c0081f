import type { CheckpointDescriptor } from './checkpoint-descriptor.ts';
import { referencedParts } from './checkpoint-descriptor.ts';
import type { CheckpointInfo } from './manifest.ts';

// Retention by reference counting: incremental chains make a newer checkpoint reuse the parts of
// older ones, so "delete the parts of checkpoints that fall out of retention" would break the
// retained ones. A part is deletable exactly when no retained checkpoint references it, which also
// covers orphans: parts written by an attempt that crashed or failed before its manifest commit.

/** The newest `keep` checkpoints, oldest first. */
export function newestCheckpoints(checkpoints: readonly CheckpointInfo[], keep: number): CheckpointInfo[] {
  return [...checkpoints].sort((a, b) => a.id - b.id).slice(-keep);
}

/**
 * Parts in `allParts` that no retained checkpoint uses: neither a retained descriptor nor a part a
 * retained descriptor's chains point into.
 */
export function unreferencedParts(
  allParts: readonly string[],
  retained: readonly { readonly info: CheckpointInfo; readonly descriptor: CheckpointDescriptor }[],
): string[] {
  const live = new Set<string>();
  for (const { info, descriptor } of retained) {
    live.add(info.descriptor);
    for (const part of referencedParts(descriptor)) live.add(part);
  }
  return allParts.filter((part) => !live.has(part));
}
