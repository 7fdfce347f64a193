import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import { createCoalescingRunner } from '../../shared/coalescing-runner.ts';
import { FetchError, type GuardedSender } from '../../shared/guarded-fetch/index.ts';
import type { Storage } from '../../storage/index.ts';
import { consumeEvents, type EventSigner, type PlatformEvents } from '../events/index.ts';
import {
  type AttemptOutcome,
  type ClaimedDelivery,
  claimDueDeliveries,
  enqueueDeliveries,
  pruneDeliveries,
  settleAttempts,
} from './deliveries.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { standardWebhookSignature, webhookJws } from './sign-webhook.ts';
import { signingSecretsOf } from './subscriptions.ts';

/** The webhook consumer's cursor name in `event_cursors`. */
export const WEBHOOK_CONSUMER = 'webhooks';

export interface WebhookDispatcherOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** The guarded sender (address policy at connect time, https only, no redirects, bounded time). */
  sender: GuardedSender;
  kek: string;
  /** The platform's event signer (JWS scheme), keys published at /events/jwks. */
  signer: () => Promise<EventSigner>;
  /** `iss` of JWS bodies: the platform's public URL. */
  issuer: string;
  policy: RetryPolicy;
  /** Wakes the dispatcher after new events. */
  events?: Pick<PlatformEvents, 'onEvents'>;
  /** How often due retries (and other nodes' events) are looked for. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Workers claiming and sending side by side. Default 4. */
  workers?: number;
  /** Deliveries a worker claims, sends concurrently and settles together per round. Default 8. */
  batch?: number;
  /** How long a claim holds; after it a crashed sender's delivery is due again. Default 70 s: keep it above the send timeout. */
  leaseMs?: number;
  random?: () => number;
  /** Settled deliveries (and their attempts) are forgotten this many days after they settled. Default 30. */
  retentionDays?: number;
}

const PRUNE_EVERY_MS = 3600_000;

export interface WebhookDispatcher {
  /** Queues deliveries for new events and sends every due one; resolves when this pass is done. */
  run(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the request of one attempt: the same body and webhook-id every time, a fresh timestamp and signature. */
export async function webhookRequest(
  claim: Pick<ClaimedDelivery, 'eventId' | 'payload' | 'subscription'>,
  deps: { kek: string; signer: () => Promise<EventSigner>; issuer: string },
  now: Date,
): Promise<{ headers: Record<string, string>; body: string }> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const common = { 'webhook-id': claim.eventId, 'webhook-timestamp': String(timestamp) };
  if (claim.subscription.scheme === 'jws') {
    const body = await webhookJws(await deps.signer(), JSON.parse(claim.payload) as Record<string, unknown>, {
      iss: deps.issuer,
      aud: claim.subscription.url,
      iat: timestamp,
    });
    return { headers: { 'content-type': 'application/jwt', ...common }, body };
  }
  const secrets = signingSecretsOf(claim.subscription, deps.kek, now);
  if (secrets.length === 0) throw new Error('the subscription has no signing secret');
  return {
    headers: {
      'content-type': 'application/json',
      ...common,
      'webhook-signature': standardWebhookSignature(secrets, claim.eventId, timestamp, claim.payload),
    },
    body: claim.payload,
  };
}

/**
 * Follows platform events with its own cursor (a delivery per matching subscription, written with the cursor
 * move) and sends due deliveries: woken by new events and by a timer (retries, other nodes' events). Several
 * nodes may run one each; claims keep them from sending the same delivery at once.
 */
export function startWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { storage, clock, logger, sender, policy } = options;
  const workers = options.workers ?? 4;
  const batch = options.batch ?? 8;
  const leaseMs = options.leaseMs ?? 70_000;
  let prunedAt = 0;
  const retentionMs = (options.retentionDays ?? 30) * 86_400_000;

  /** One attempt: sign and POST; never throws (a failure is the outcome). */
  const attemptOne = async (claim: ClaimedDelivery): Promise<AttemptOutcome> => {
    const startedAt = clock();
    const t0 = performance.now();
    try {
      const req = await webhookRequest(claim, options, startedAt);
      const res = await sender.post({ url: claim.subscription.url, headers: req.headers, body: req.body });
      return {
        startedAt,
        durationMs: performance.now() - t0,
        status: res.status,
        excerpt: res.excerpt,
        retryAfterSeconds: res.retryAfterSeconds,
      };
    } catch (err) {
      const error =
        err instanceof FetchError
          ? `${err.code}: ${err.message}`
          : `signing_failed: ${(err as Error).message ?? 'unknown error'}`;
      return { startedAt, durationMs: performance.now() - t0, error };
    }
  };

  /** A round: the claimed deliveries sent concurrently, then settled together in one transaction. */
  const sendRound = async (claims: ClaimedDelivery[]): Promise<void> => {
    const outcomes = await Promise.all(claims.map(attemptOne));
    const attempts = claims.map((claim, i) => ({ claim, outcome: outcomes[i]! }));
    const statuses = await settleAttempts(storage, attempts, clock(), policy, options.random);
    for (const [i, settled] of statuses.entries()) {
      const { claim, outcome } = attempts[i]!;
      const log = {
        delivery: claim.id,
        subscription: claim.subscription.id,
        attempt: claim.attempt,
        status: outcome.status,
        error: outcome.error,
      };
      if (settled === 'dead' && outcome.status === 410) {
        logger.warn(log, 'webhook receiver answered 410 Gone: subscription disabled');
      } else if (settled === 'dead') logger.warn(log, 'webhook delivery dead after its last attempt');
      else if (settled === 'pending') logger.info(log, 'webhook delivery failed; retry scheduled');
    }
  };

  const pass = async () => {
    await consumeEvents(
      storage,
      WEBHOOK_CONSUMER,
      (tx, events) => enqueueDeliveries(tx, events, clock()).then(() => {}),
      clock(),
    );
    // Several workers, each with a small round: a receiver that hangs until the timeout holds up one
    // worker's round, not every delivery due.
    const worker = async () => {
      for (;;) {
        if (runner.closed) return;
        const claims = await claimDueDeliveries(storage, clock(), { limit: batch, leaseMs });
        if (claims.length > 0) await sendRound(claims);
        if (claims.length < batch) return;
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    const now = clock();
    if (now.getTime() - prunedAt >= PRUNE_EVERY_MS) {
      prunedAt = now.getTime();
      const pruned = await pruneDeliveries(storage, new Date(now.getTime() - retentionMs));
      if (pruned > 0) logger.info({ pruned }, 'old webhook deliveries pruned');
    }
  };
  const runner = createCoalescingRunner(pass, {
    intervalMs: options.pollIntervalMs ?? 1000,
    onError: (err) => logger.error({ err }, 'webhook pass failed; retried on the next wake-up'),
  });
  const unsubscribe = options.events?.onEvents(() => void runner.wake());
  void runner.wake();
  return {
    run: () => runner.flush(),
    async close() {
      unsubscribe?.();
      await runner.close();
    },
  };
}
