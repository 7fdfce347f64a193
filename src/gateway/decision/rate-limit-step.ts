import type { Logger } from 'pino';
import { type AppliedLimit, type RateLimitRule, rateLimitHeaders } from '../../shared/rate-limit/policy.ts';
import type { RateLimitStore, RateLimitTake } from '../../shared/rate-limit/rate-limit-store.ts';
import { GATEWAY_REASONS, GatewayError } from '../gateway-error.ts';
import type { ClientLiveness, LivenessState } from '../liveness.ts';
import type { RouteMatch } from '../match-route.ts';

/** What the rate-limit step answered: headers for the client, and a refusal when a limit is used up. */
export type RateLimitOutcome =
  | { refusal: undefined; headers: Record<string, string>; unchecked: boolean }
  | { refusal: GatewayError; headers: Record<string, string>; unchecked: false };

interface Counter {
  key: string;
  name: string;
  rule: RateLimitRule;
}

// A failing store is told once per interval, not once per request.
const WARN_INTERVAL_MS = 10_000;

/**
 * Step 6 (issue 16), after the caller is authenticated and authorised and before the upstream: one counter per
 * limit that applies, taken together as one all-or-nothing take. Which limits apply, per kind:
 *   client:       the application's override, else the operation's own `client` rules, else the catalog's;
 *   organisation: the organisation's override, else the operation's own `organisation` rules, else the catalog's.
 * An operation's own rules count per operation; the catalog's and the overrides count across the catalog.
 */
export function createRateLimitStep(options: {
  liveness: LivenessState;
  store: RateLimitStore;
  failClosed: boolean;
  logger: Logger;
}): { check(client: ClientLiveness, route: RouteMatch): Promise<RateLimitOutcome> | undefined } {
  const { liveness, store, failClosed, logger } = options;
  let warnedAt = Number.NEGATIVE_INFINITY;

  function countersFor(client: ClientLiveness, route: RouteMatch): Counter[] {
    const settings = liveness.rateLimits?.();
    const operation = route.rateLimit;
    const catalog = settings?.catalog;
    const counters: Counter[] = [];
    const add = (
      kind: 'client' | 'organisation',
      subject: string,
      override: readonly RateLimitRule[] | undefined,
    ) => {
      const own = operation?.[kind];
      const rules = override ?? own ?? catalog?.[kind];
      if (rules === undefined || rules.length === 0) return;
      // An operation's own rules count per operation; overrides and the catalog's across the catalog.
      const scope =
        override === undefined && own !== undefined ? `${route.method} ${route.pathPattern}` : '*';
      for (const rule of rules) {
        counters.push({
          // A JSON array: no character inside a part can be taken for a separator. The quota is part of
          // the key: a changed limit starts a fresh counter at its next request.
          key: JSON.stringify([kind, subject, scope, rule.window, rule.quota]),
          name: `${kind}-${rule.window}s`,
          rule,
        });
      }
    };
    add('client', client.clientId, settings?.application(client.clientId));
    add('organisation', client.orgId, settings?.organisation(client.orgId));
    return counters;
  }

  function outcome(counters: Counter[], takes: RateLimitTake[]): RateLimitOutcome {
    const applied: AppliedLimit[] = counters.map((c, i) => {
      const t = takes[i] as RateLimitTake;
      return {
        name: c.name,
        quota: c.rule.quota,
        window: c.rule.window,
        remaining: t.remaining,
        resetMs: t.resetMs,
      };
    });
    const headers = rateLimitHeaders(applied);
    let retryAfterMs = 0;
    let exhausted: string | undefined;
    for (const [i, t] of takes.entries()) {
      if (!t.allowed && t.retryAfterMs >= retryAfterMs) {
        retryAfterMs = t.retryAfterMs;
        exhausted = counters[i]?.name;
      }
    }
    if (exhausted === undefined) return { refusal: undefined, headers, unchecked: false };
    headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    const refusal = new GatewayError(
      GATEWAY_REASONS.rateLimited,
      429,
      `rate limit ${exhausted} exceeded; retry after ${headers['retry-after']} s`,
    );
    return { refusal, headers, unchecked: false };
  }

  function storeFailed(err: unknown): RateLimitOutcome {
    const now = Date.now();
    if (now - warnedAt >= WARN_INTERVAL_MS) {
      warnedAt = now;
      logger.warn(
        { error: (err as Error)?.message, fail: failClosed ? 'closed' : 'open' },
        failClosed
          ? 'rate limit store failed: requests are refused (rate_limit_unavailable)'
          : 'rate limit store failed: requests are admitted unchecked',
      );
    }
    if (!failClosed) return { refusal: undefined, headers: {}, unchecked: true };
    const refusal = new GatewayError(
      GATEWAY_REASONS.rateLimitUnavailable,
      503,
      'rate limits cannot be checked at the moment; retry later',
    );
    return { refusal, headers: {}, unchecked: false };
  }

  return {
    check(client, route) {
      const counters = countersFor(client, route);
      if (counters.length === 0) return undefined;
      // All or nothing: a request one limit refuses is counted by none (a per-second refusal keeps the day's quota).
      return store
        .takeAll(counters.map((c) => ({ key: c.key, quota: c.rule.quota, windowMs: c.rule.window * 1000 })))
        .then((takes) => outcome(counters, takes), storeFailed);
    },
  };
}
