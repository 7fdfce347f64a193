export { type DecisionSample, decisionMetrics } from './decision-metrics.ts';
export { isLoopbackHost } from './loopback.ts';
export {
  type MetricsListener,
  type MetricsListenerOptions,
  readMetricsToken,
  startMetricsListener,
} from './metrics-listener.ts';
export { createMetricsRegistry, processMetrics } from './registry.ts';
