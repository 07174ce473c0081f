import type { Registry } from 'prom-client';
import { promClient } from '../deferred-packages.ts';

/**
 * A prom-client registry with prom-client's default Node.js metrics (CPU, memory, heap spaces,
 * event-loop lag, GC, handles; their standard names, no `stator_` prefix). One per process: the
 * event-loop and GC monitors it starts stay for the life of the process.
 */
export function createProcessRegistry(): Registry {
  const { collectDefaultMetrics, Registry } = promClient();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
