// `stator/client`: what a producer or consumer of a job's subjects imports, without the runtime
// (no NATS client, no state stores): how to address a job's pre-partitioned input.
export { partitionOf } from './nats/partition-of.ts';
