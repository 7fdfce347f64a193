import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/**
 * The process metrics (CPU, memory, event-loop lag, GC, open file descriptors; prom-client's default set):
 * one registry per process, whatever starts in it. Created on first use: its collectors run for the life of
 * the process, so a test that starts a platform twice does not register them twice.
 */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The registry of one started component (a platform, a standalone gateway). In production a process runs
 * one; a registry per start keeps a second start in the same process (tests) from clashing on names.
 */
export function createMetricsRegistry(): Registry {
  return new Registry();
}
