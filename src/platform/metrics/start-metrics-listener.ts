import type { Logger } from 'pino';
import {
  type MetricsListener,
  processMetrics,
  readMetricsToken,
  startMetricsListener,
} from '../../shared/metrics/index.ts';
import { ConfigError, type PlatformConfig } from '../config.ts';
import type { PlatformMetrics } from './platform-metrics.ts';

/**
 * Starts `listeners.metrics` unless disabled: the process metrics and the platform's. A port already in use
 * is logged and the platform runs on without metrics (Prometheus sees the target down); a bad token file
 * stops start-up like any other configuration error.
 */
export async function startPlatformMetricsListener(
  config: PlatformConfig,
  metrics: PlatformMetrics,
  logger: Logger,
): Promise<MetricsListener | undefined> {
  const { host, port, enabled } = config.listeners.metrics;
  if (!enabled) return undefined;
  let token: string | undefined;
  if (config.metrics.tokenFile !== undefined) {
    try {
      token = readMetricsToken(config.metrics.tokenFile, 'metrics.tokenFile');
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  try {
    return await startMetricsListener({
      host,
      port,
      registries: [processMetrics(), metrics.registry],
      token,
      limits: config.listeners.limits,
      logger,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL') throw err;
    logger.error({ host, port, err: (err as Error).message }, 'metrics listener not started');
    return undefined;
  }
}
