// What the connected nats-server can do, from the version in its INFO. Newer servers add stream and
// consumer fields that older ones silently ignore (2.9 accepts and drops `subject_transform`, atomic
// batch headers...), so features are decided from the version, never from a rejection.

/** Capabilities of a nats-server version that matter to stator. */
export interface ServerFeatures {
  /** The version string from the server's INFO, e.g. `2.9.10`. */
  readonly version: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Stream subject transforms, multi-filter consumers, stream metadata, compression (2.10+). */
  readonly subjectTransforms: boolean;
  readonly multiFilterConsumers: boolean;
  readonly streamMetadata: boolean;
  readonly compression: boolean;
  /** Per-message TTL, consumer pause, priority groups (2.11+). */
  readonly perMessageTtl: boolean;
  /** Atomic batch publish (2.12+); older servers ignore the batch headers. */
  readonly atomicBatchPublish: boolean;
  /**
   * Streams with `max_msgs` limits and many subjects write slowly before 2.9.16: prefer
   * `max_msgs_per_subject` or no message limit.
   */
  readonly slowMaxMsgsLimit: boolean;
}

/** Parses `major.minor.patch[-suffix]`; an unparsable version is treated as 0.0.0 (no optional features). */
export function serverFeatures(version: string): ServerFeatures {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  const [major, minor, patch] = match === null ? [0, 0, 0] : [Number(match[1]), Number(match[2]), Number(match[3])];
  const atLeast = (ma: number, mi: number, pa = 0): boolean =>
    major !== ma ? major > ma : minor !== mi ? minor > mi : patch >= pa;
  return {
    version,
    major,
    minor,
    patch,
    subjectTransforms: atLeast(2, 10),
    multiFilterConsumers: atLeast(2, 10),
    streamMetadata: atLeast(2, 10),
    compression: atLeast(2, 10),
    perMessageTtl: atLeast(2, 11),
    atomicBatchPublish: atLeast(2, 12),
    slowMaxMsgsLimit: !atLeast(2, 9, 16),
  };
}
