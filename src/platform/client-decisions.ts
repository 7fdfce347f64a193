import type { Clock } from '../shared/clock.ts';
import type { DecisionTaps } from './decision-taps.ts';

/** One enforcement decision as the go-live check keeps it. */
export interface SeenDecision {
  at: number;
  decision: 'allow' | 'deny';
  reason: string;
  certX5tS256: string | undefined;
}

export interface ClientDecisions {
  /** How many allowed and refused requests of `clientId` with certificate `x5t` fell within [from, to] (ms). */
  count(clientId: string, x5t: string, from: number, to: number): { allowed: number; denied: number };
  close(): void;
}

/**
 * What this node's doors decided recently, per client: a bounded in-memory record (the newest `perClient`
 * decisions of at most `maxClients` clients, the least recently seen client dropped first) kept from the
 * decision taps, so that the platform can check a submitted test-plan run against what it saw itself.
 *
 * Per node: a run whose requests went through another node's door is not seen here (issue 16 makes decisions
 * shared); such a run is recorded as failed with the reason, and can be run again.
 */
export function followClientDecisions(
  taps: DecisionTaps,
  clock: Clock,
  limits: { perClient?: number; maxClients?: number } = {},
): ClientDecisions {
  const perClient = limits.perClient ?? 500;
  const maxClients = limits.maxClients ?? 5_000;
  // A Map keeps insertion order: re-inserting on every decision makes the first key the least recently seen.
  const byClient = new Map<string, SeenDecision[]>();
  const remove = taps.add((entry) => {
    if (!entry.client_id) return;
    const list = byClient.get(entry.client_id) ?? [];
    byClient.delete(entry.client_id);
    list.push({
      at: clock().getTime(),
      decision: entry.decision,
      reason: entry.reason,
      certX5tS256: entry.cert_x5t_s256,
    });
    if (list.length > perClient) list.splice(0, list.length - perClient);
    byClient.set(entry.client_id, list);
    if (byClient.size > maxClients) {
      const oldest = byClient.keys().next().value;
      if (oldest !== undefined) byClient.delete(oldest);
    }
  });
  return {
    count(clientId, x5t, from, to) {
      let allowed = 0;
      let denied = 0;
      for (const d of byClient.get(clientId) ?? []) {
        if (d.certX5tS256 !== x5t || d.at < from || d.at > to) continue;
        if (d.decision === 'allow') allowed++;
        else denied++;
      }
      return { allowed, denied };
    },
    close: remove,
  };
}
