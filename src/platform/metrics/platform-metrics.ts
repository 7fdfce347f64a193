import { Counter, Gauge, type Registry } from 'prom-client';
import { type BacklogCounts, countBacklogs } from '../../audit/index.ts';
import { createMetricsRegistry, type DecisionSample, decisionMetrics } from '../../shared/metrics/index.ts';
import type { Storage } from '../../storage/index.ts';
import type { FeedHub } from '../enforcement-feed/index.ts';

/** How long a backlog count is reused: a scrape every second must not mean a COUNT every second. */
export const BACKLOG_CACHE_MS = 5_000;

// Label values come from these closed lists; anything else (a client's made-up grant_type) is `other`.
const GRANT_TYPES = new Set([
  'authorization_code',
  'client_credentials',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:openid:params:grant-type:ciba',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
]);
const TOKEN_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'invalid_authorization_details',
  'authorization_pending',
  'slow_down',
  'expired_token',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
]);
const known = (set: Set<string>, value: unknown) =>
  typeof value === 'string' && set.has(value) ? value : value === undefined ? 'none' : 'other';

/** The event emitter part of oidc-provider's Provider the token metrics follow. */
export interface ProviderEvents {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

interface TokenContext {
  oidc?: { params?: { grant_type?: unknown } };
}

export interface PlatformMetrics {
  /** The platform's metrics (the process metrics are a registry of their own, see processMetrics). */
  registry: Registry;
  /** For the decision taps: one enforcement decision. */
  onDecision(entry: DecisionSample): void;
  /** For the OCSP responder: one response's status. */
  onOcspAnswer(status: string): void;
  /** Counts tokens issued and token endpoint errors from the authorization server's events. */
  followProvider(provider: ProviderEvents): void;
  /** Feed lag gauges, read on scrape: this process's feed position and the standalone gateways' acks. */
  followFeed(sources: { storage: Storage; hub: FeedHub }): void;
  /** Webhook, SSF and mail backlog gauges, counted on scrape (cached for BACKLOG_CACHE_MS). */
  followBacklog(
    storage: Storage,
    now?: () => number,
    count?: () => Promise<{ counts: BacklogCounts; headSeq: number }>,
  ): void;
  /** The decision log's lines this node did not keep (issue 16), read on scrape. */
  followDecisionLog(source: { dropped(): number }): void;
}

export function createPlatformMetrics(): PlatformMetrics {
  const registry = createMetricsRegistry();
  const onDecision = decisionMetrics(registry);

  const tokensIssued = new Counter({
    name: 'accredit_tokens_issued_total',
    help: 'Successful token endpoint responses (access tokens issued), by grant type.',
    labelNames: ['grant_type'] as const,
    registers: [registry],
  });
  const tokenErrors = new Counter({
    name: 'accredit_token_errors_total',
    help: 'Token endpoint error responses, by grant type and OAuth error code.',
    labelNames: ['grant_type', 'error'] as const,
    registers: [registry],
  });
  const ocsp = new Counter({
    name: 'accredit_ocsp_responses_total',
    help: 'OCSP responses (RFC 6960), by response status.',
    labelNames: ['status'] as const,
    registers: [registry],
  });

  let feed: { storage: Storage; hub: FeedHub } | undefined;
  // The database's newest change is read on scrape too, and cached with the backlog counts.
  let backlog: ((now: number) => Promise<{ counts: BacklogCounts; headSeq: number } | undefined>) | undefined;
  let clock: () => number = Date.now;
  let queryFailures = 0;
  let decisionLog: { dropped(): number } | undefined;

  new Gauge({
    name: 'accredit_feed_seq',
    help: 'Change feed sequence numbers: the newest in the database (source="database"), the newest this process has applied (source="process": the in-process gateway), the newest sent to standalone gateways (source="hub").',
    labelNames: ['source'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!feed) return;
      this.set({ source: 'process' }, feed.storage.feed.lastSeq);
      this.set({ source: 'hub' }, feed.hub.lastSeq());
      const fromDb = await backlog?.(clock());
      if (fromDb) this.set({ source: 'database' }, fromDb.headSeq);
    },
  });
  new Gauge({
    name: 'accredit_feed_lag_changes',
    help: 'Changes a follower has yet to apply: follower="in_process" is this process (database head minus applied), follower="<credential id>" each standalone gateway stream that acknowledges (hub seq minus acknowledged).',
    labelNames: ['follower'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!feed) return;
      const fromDb = await backlog?.(clock());
      const head = fromDb?.headSeq ?? feed.storage.feed.lastSeq;
      this.set({ follower: 'in_process' }, Math.max(0, head - feed.storage.feed.lastSeq));
      const hubSeq = feed.hub.lastSeq();
      const worst = new Map<string, number>();
      for (const { credentialId, ackedSeq } of feed.hub.followers()) {
        if (ackedSeq < 0) continue;
        const lag = Math.max(0, hubSeq - ackedSeq);
        worst.set(credentialId, Math.max(worst.get(credentialId) ?? 0, lag));
      }
      for (const [credentialId, lag] of worst) this.set({ follower: credentialId }, lag);
    },
  });
  new Gauge({
    name: 'accredit_feed_streams',
    help: 'Open change feed streams to standalone enforcement points.',
    registers: [registry],
    collect() {
      this.set(feed ? feed.hub.clients() : 0);
    },
  });

  const backlogGauge = (name: string, help: string, pick: (c: BacklogCounts) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const fromDb = await backlog?.(clock());
        if (fromDb) this.set(pick(fromDb.counts));
      },
    });
  backlogGauge(
    'accredit_webhook_deliveries_pending',
    'Webhook deliveries waiting to be sent or retried.',
    (c) => c.webhookPending,
  );
  backlogGauge(
    'accredit_webhook_deliveries_dead',
    'Webhook deliveries that exhausted their retries (dead letters), until redelivered or cancelled.',
    (c) => c.webhookDead,
  );
  backlogGauge(
    'accredit_ssf_sets_queued',
    'Security Event Tokens queued for Shared Signals streams (to push, or to be polled).',
    (c) => c.ssfQueued,
  );
  backlogGauge(
    'accredit_ssf_sets_failed',
    'Security Event Tokens a push receiver refused for good.',
    (c) => c.ssfFailed,
  );
  backlogGauge('accredit_mail_outbox_pending', 'Notification mails not yet sent.', (c) => c.mailPending);
  backlogGauge('accredit_mail_outbox_failed', 'Notification mails given up on.', (c) => c.mailFailed);
  new Counter({
    name: 'accredit_decision_lines_dropped_total',
    help: 'Decisions this node counted in the traffic charts but did not keep in the shared decision log (over its lines-per-second cap, or while the database could not be written).',
    registers: [registry],
    collect() {
      this.reset();
      const dropped = decisionLog?.dropped() ?? 0;
      if (dropped > 0) this.inc(dropped);
    },
  });
  new Gauge({
    name: 'accredit_metrics_backlog_query_failures',
    help: 'Scrapes whose backlog or feed head query failed (the gauges then keep their last values).',
    registers: [registry],
    async collect() {
      // After this scrape's query, so a failure shows in the scrape it affected.
      await backlog?.(clock());
      this.set(queryFailures);
    },
  });

  return {
    registry,
    onDecision,
    onOcspAnswer: (status) => ocsp.inc({ status }),
    followProvider(provider) {
      provider.on('grant.success', (ctx: unknown) => {
        tokensIssued.inc({
          grant_type: known(GRANT_TYPES, (ctx as TokenContext | undefined)?.oidc?.params?.grant_type),
        });
      });
      provider.on('grant.error', (ctx: unknown, err: unknown) => {
        const grantType = known(GRANT_TYPES, (ctx as TokenContext | undefined)?.oidc?.params?.grant_type);
        tokenErrors.inc({
          grant_type: grantType,
          error: known(TOKEN_ERRORS, (err as { error?: unknown } | undefined)?.error ?? 'other'),
        });
      });
    },
    followDecisionLog(source) {
      decisionLog = source;
    },
    followFeed(sources) {
      feed = sources;
    },
    followBacklog(storage, now = Date.now, count = undefined) {
      const read =
        count ??
        (async () => {
          const [counts, headSeq] = await Promise.all([countBacklogs(storage.db), storage.feed.currentSeq()]);
          return { counts, headSeq };
        });
      clock = now;
      let cached:
        | { at: number; value: Promise<{ counts: BacklogCounts; headSeq: number } | undefined> }
        | undefined;
      backlog = (at) => {
        if (!cached || at - cached.at >= BACKLOG_CACHE_MS || at < cached.at) {
          const value = read().catch(() => {
            queryFailures++;
            return undefined;
          });
          cached = { at, value };
        }
        return cached.value;
      };
    },
  };
}
