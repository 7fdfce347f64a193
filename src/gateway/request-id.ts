import { randomUUID } from 'node:crypto';

/**
 * Request ids correlate log lines, answers and upstream calls. Random, not a counter: partners see them, and
 * sequential ids would tell one partner how much traffic everyone else sends through the gateway.
 */
export function createRequestIds(): () => string {
  return () => randomUUID();
}
