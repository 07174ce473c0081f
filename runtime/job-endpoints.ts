import type { Registry } from 'prom-client';
import type { TurnTimer } from './engine/turn-timer.ts';
import type { HttpRoutes } from './http/index.ts';
import type { JobRuntime } from './job-runtime.ts';
import type { ConnectionView } from './job-view.ts';
import type { Logger } from './log.ts';
import { createJobMetrics } from './metrics/index.ts';
import type { JobMetrics } from './metrics/index.ts';
import { readinessOf } from './readiness.ts';
import { JobStatusModel } from './status/job-status.ts';
import { STATUS_PAGE_PATHS, StatusPage } from './status/status-page.ts';

/** A runtime as its observer sees it: the job runtime plus its broker connection (NATS mode). */
export type ObservedRuntime = JobRuntime & { readonly connection: ConnectionView | undefined };

/** Follows a runtime while it runs (createRuntime calls it): metrics, health and status endpoints. */
export interface RuntimeObserver {
  /** Tees the runtime's logger: warnings and errors also go to the status page. */
  recordingLogger(logger: Logger): Logger;
  /** Starts following `runtime` as its run starts; close() after the run. */
  observe(runtime: ObservedRuntime): RuntimeObservation;
}

export interface RuntimeObservation {
  /** Handed to the pipeline: times a sample of turns. */
  readonly turnTimer: TurnTimer;
  /** NATS mode: the connection is up. */
  connected(connection: ConnectionView): void;
  /** Removes the routes and metrics. Idempotent. */
  close(): void;
}

export interface JobEndpointsOptions {
  readonly http: HttpRoutes;
  /** Where the job's metrics go; `/metrics` serves the whole registry (with whatever else is in it). */
  readonly registry: Registry;
  readonly jobName: string;
}

/**
 * Serves a running job on the process's HTTP server: `GET /metrics` (Prometheus text format of the
 * registry), `GET /readyz` (200 once restored and processing, else 503 with the reason),
 * `GET /status.json` and the status page at `/`. The routes and the job's metrics are added when
 * the run starts and removed when it ends.
 */
export function jobEndpoints(options: JobEndpointsOptions): RuntimeObserver {
  const { http, registry } = options;
  const status = new JobStatusModel({ jobName: options.jobName });
  const page = new StatusPage();
  return {
    recordingLogger: (logger) => status.recordingLogger(logger),
    observe(runtime) {
      const noStore = { 'Cache-Control': 'no-store' };
      const removals: (() => void)[] = [];
      let metrics: JobMetrics;
      try {
        metrics = createJobMetrics(registry, options.jobName, runtime);
        removals.push(() => metrics.close());
        status.observe(runtime);
        removals.push(() => status.close());
        removals.push(
          http.route('GET', '/metrics', async () => ({
            headers: { 'Content-Type': registry.contentType, ...noStore },
            body: await registry.metrics(),
          })),
        );
        removals.push(
          http.route('GET', '/readyz', () => {
            const readiness = readinessOf(runtime.state, runtime.connection);
            return {
              status: readiness.ready ? 200 : 503,
              headers: noStore,
              json: { status: readiness.status, message: readiness.message },
            };
          }),
        );
        removals.push(
          http.route('GET', '/status.json', async () => ({ headers: noStore, json: await status.status() })),
        );
        for (const path of STATUS_PAGE_PATHS) removals.push(http.route('GET', path, () => page.respond(path)));
      } catch (error) {
        for (const remove of removals.splice(0).reverse()) remove();
        throw error;
      }
      return {
        turnTimer: metrics.turnTimer,
        connected(connection) {
          metrics.connected(connection);
          status.connected(connection);
        },
        close() {
          for (const remove of removals.splice(0).reverse()) remove();
        },
      };
    },
  };
}
