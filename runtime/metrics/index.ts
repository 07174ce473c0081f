// The job's Prometheus metrics (prom-client), read from the running job when scraped.
export { createJobMetrics } from './job-metrics.ts';
export type { JobMetrics } from './job-metrics.ts';
export { createProcessRegistry } from './process-registry.ts';
