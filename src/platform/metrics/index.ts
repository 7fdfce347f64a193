export { BACKLOG_CACHE_MS, createPlatformMetrics, type PlatformMetrics } from './platform-metrics.ts';
export { startPlatformMetricsListener } from './start-metrics-listener.ts';
