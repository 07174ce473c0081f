import type { ConnectionView } from './job-view.ts';
import type { LifecycleState } from './lifecycle.ts';

/** What `/readyz` answers: ready (200) or why not (503). */
export interface Readiness {
  readonly ready: boolean;
  /** `running`, or the reason it is not ready: the lifecycle state, or `nats-<connection state>`. */
  readonly status: string;
  readonly message: string;
}

/**
 * Ready = restored and processing: the lifecycle is `running` and, in NATS mode, the connection is
 * up. Not ready while starting, restoring, draining or stopped, and while NATS is away (the job
 * cannot read or checkpoint then; it keeps reconnecting until --max-outage).
 */
export function readinessOf(state: LifecycleState, connection: ConnectionView | undefined): Readiness {
  if (state !== 'running') {
    const message =
      state === 'created'
        ? 'starting: connecting and setting up'
        : state === 'restoring'
          ? 'restoring the latest checkpoint'
          : state === 'draining'
            ? 'stopping: draining and writing the final checkpoint'
            : state === 'stopped'
              ? 'the job has stopped'
              : 'the job has failed (see the log)';
    return { ready: false, status: state, message };
  }
  if (connection !== undefined && connection.state !== 'connected') {
    return {
      ready: false,
      status: `nats-${connection.state}`,
      message: `NATS connection ${connection.state}: reading and checkpoints wait for it`,
    };
  }
  return { ready: true, status: 'running', message: 'restored and processing' };
}
