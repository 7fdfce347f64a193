import type { Logger } from 'pino';
import type { GatewayReason } from './gateway-error.ts';

/** One line per decision (step 7). Never the token, only its jti. */
export interface DecisionRecord {
  decision: 'allow' | 'deny';
  reason: GatewayReason;
  status: number;
  method: string;
  /** The catalog pattern that matched, e.g. /v1/accounts/{id}. */
  route: string | undefined;
  path: string;
  client_id: string | undefined;
  org_id: string | undefined;
  jti: string | undefined;
  cert_subject: string | undefined;
  cert_x5t_s256: string | undefined;
  request_id: string;
  latency_ms: number;
}

export interface GatewayStats {
  allowed: Record<string, number>;
  denied: Record<string, number>;
}

export interface DecisionLog {
  record(entry: DecisionRecord): void;
  stats(): GatewayStats;
}

/** Writes decision lines and keeps counters by decision and reason, to be exported as metrics later. */
export function createDecisionLog(logger: Logger): DecisionLog {
  const allowed = new Map<string, number>();
  const denied = new Map<string, number>();
  return {
    record(entry) {
      const counters = entry.decision === 'allow' ? allowed : denied;
      counters.set(entry.reason, (counters.get(entry.reason) ?? 0) + 1);
      if (entry.status >= 500) logger.warn(entry, 'gateway decision');
      else logger.info(entry, 'gateway decision');
    },
    stats() {
      return { allowed: Object.fromEntries(allowed), denied: Object.fromEntries(denied) };
    },
  };
}
