import { BehaviorSubject } from './rx.ts';
import type { Observable } from 'rxjs';
import { LifecycleError } from './errors.ts';

/**
 * The runtime's lifecycle:
 *
 *   created → restoring → running → draining → stopped
 *                 ↘          ↘          ↘
 *                  failed     failed     failed
 *
 * `restoring` reads the latest checkpoint and opens the tasks; `running` consumes input;
 * `draining` stops intake, processes what is in flight and writes the final checkpoint.
 */
export type LifecycleState = 'created' | 'restoring' | 'running' | 'draining' | 'stopped' | 'failed';

const allowed: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  created: ['restoring', 'failed', 'stopped'],
  restoring: ['running', 'failed', 'draining'],
  running: ['draining', 'failed'],
  draining: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

/** Holds the state and makes every transition in one place; wrong transitions throw. */
export class Lifecycle {
  private readonly subject = new BehaviorSubject<LifecycleState>('created');

  get state(): LifecycleState {
    return this.subject.value;
  }

  /** The state and every change of it (replays the current state to a new subscriber). */
  get changes(): Observable<LifecycleState> {
    return this.subject.asObservable();
  }

  /** @throws LifecycleError when `to` is not reachable from the current state. */
  transition(to: LifecycleState): void {
    const from = this.subject.value;
    if (!allowed[from].includes(to)) throw new LifecycleError(`cannot go from ${from} to ${to}`);
    this.subject.next(to);
    if (to === 'stopped' || to === 'failed') this.subject.complete();
  }

  /** Like transition, but a no-op when already there or when the state is final. */
  tryTransition(to: LifecycleState): boolean {
    const from = this.subject.value;
    if (from === to || !allowed[from].includes(to)) return false;
    this.transition(to);
    return true;
  }
}
