import pino, { type Logger } from 'pino';
import type { DecisionCore, RateLimitOptions } from '../../gateway/decision/index.ts';
import { createMemoryLivenessState, type LivenessState } from '../../gateway/liveness.ts';
import type { CatalogRoute } from '../../gateway/match-route.ts';
import { createRedisRateLimitStore } from '../../shared/rate-limit/redis-rate-limit-store.ts';
import { discoverAuthorizationServer } from '../discover.ts';
import { platformAgent } from '../https-get.ts';
import { type PollFollower, pollFeed } from '../poll-feed.ts';
import type { LambdaConfig } from './config.ts';
import { createLambdaAuthorizer, type LambdaAuthorizer } from './create-authorizer.ts';

/** What the decision core is built from in a Lambda environment: no database, only the platform's feed. */
export interface LambdaCoreInputs {
  issuer: string;
  audience: string;
  jwksUri: string;
  /** The platform CA bundle: client certificates chain to it, and the JWKS is fetched trusting it. */
  ca: string;
  liveness: LivenessState;
  staleness: () => string | undefined;
  routes: CatalogRoute[];
  logger: Logger;
  /** The rate-limit counters (Redis with ACCREDIT_REDIS_URL, else this instance's memory) and the store-error rule. */
  rateLimit: RateLimitOptions;
}

export type LambdaCoreFactory = (inputs: LambdaCoreInputs) => Promise<DecisionCore>;

export interface StartedAuthorizer {
  authorize: LambdaAuthorizer;
  feed: PollFollower;
  close(): Promise<void>;
}

/** A Redis in the function's VPC answers in milliseconds: an authorizer invocation never waits long on one. */
const REDIS_CONNECT_TIMEOUT_MS = 2000;
const REDIS_COMMAND_TIMEOUT_MS = 1000;
// Connection errors repeat on every reconnection attempt: told once per interval, never per attempt.
const REDIS_WARN_INTERVAL_MS = 10_000;

function redisErrorLogger(logger: Logger): (err: Error) => void {
  let warnedAt = Number.NEGATIVE_INFINITY;
  return (err) => {
    const now = Date.now();
    if (now - warnedAt < REDIS_WARN_INTERVAL_MS) return;
    warnedAt = now;
    logger.warn({ error: err.message }, 'rate limits: Redis connection error');
  };
}

/**
 * Cold start: the authorization server's issuer and JWKS (from the configuration or discovery), the first
 * snapshot of the platform's state (polled), then the decision core over that state. Every later invocation
 * polls only the changes since (at most every `refreshMs`).
 */
export async function startLambdaAuthorizer(
  config: LambdaConfig,
  createCore: LambdaCoreFactory,
  logger: Logger = pino({ level: config.logLevel, base: { door: 'aws-lambda' } }),
): Promise<StartedAuthorizer> {
  let issuer = config.issuer;
  let jwksUri = config.jwksUri;
  if (issuer === undefined || jwksUri === undefined) {
    const agent = platformAgent(config.ca);
    try {
      const found = await discoverAuthorizationServer(config.platformUrl, agent);
      issuer ??= found.issuer;
      jwksUri ??= found.jwksUri;
    } finally {
      agent.destroy();
    }
  }
  // Counted with every other instance (and gateway) on the Redis, else in this instance. The client connects
  // while the snapshot is polled; a Redis that is down does not fail the cold start: each request applies
  // the fail-open/fail-closed rule instead.
  const store =
    config.redisUrl === undefined
      ? undefined
      : createRedisRateLimitStore(config.redisUrl, {
          ...(config.redisCa !== undefined ? { ca: config.redisCa } : {}),
          connectTimeoutMs: REDIS_CONNECT_TIMEOUT_MS,
          commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS,
          // The URL may carry a password: never logged; the error message names only the failure.
          onError: redisErrorLogger(logger),
        });
  const rateLimit: RateLimitOptions = {
    onStoreError: config.rateLimitOnStoreError ?? 'open',
    ...(store !== undefined ? { store } : {}),
  };
  // Pruned at each snapshot and by its own timer while the environment is thawed.
  const state = createMemoryLivenessState();
  let routes: CatalogRoute[] = [];
  let core: DecisionCore | undefined;
  const feed = pollFeed({
    platformUrl: config.platformUrl,
    ca: config.ca,
    credential: config.credential,
    state,
    logger,
    refreshMs: config.refreshMs,
    staleAfterMs: config.staleAfterMs,
    onRoutes(next) {
      routes = next;
      try {
        core?.setRoutes(next);
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'the feed sent an unusable access catalog');
      }
    },
  });
  try {
    await feed.refresh();
    core = await createCore({
      issuer,
      audience: config.audience,
      jwksUri,
      ca: config.ca,
      liveness: state,
      staleness: feed.staleness,
      routes,
      logger,
      rateLimit,
    });
    // Routes that arrived while the core was being built.
    core.setRoutes(routes);
  } catch (err) {
    feed.close();
    state.close();
    await store?.close();
    throw err;
  }
  logger.info({ platform: config.platformUrl, ...feed.status() }, 'accredit lambda authorizer ready');
  const authorize = createLambdaAuthorizer({
    core,
    feed,
    responseMode: config.responseMode,
    policyResource: config.policyResource,
    stripPrefix: config.stripPrefix,
    publicUrl: config.publicUrl,
    logger,
  });
  const ready = core;
  return {
    authorize,
    feed,
    async close() {
      feed.close();
      state.close();
      await ready.close();
      // The core closes only a store it created itself.
      await store?.close();
    },
  };
}
