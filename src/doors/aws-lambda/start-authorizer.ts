import pino, { type Logger } from 'pino';
import type { DecisionCore } from '../../gateway/decision/index.ts';
import { createMemoryLivenessState, type LivenessState } from '../../gateway/liveness.ts';
import type { CatalogRoute } from '../../gateway/match-route.ts';
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
}

export type LambdaCoreFactory = (inputs: LambdaCoreInputs) => Promise<DecisionCore>;

export interface StartedAuthorizer {
  authorize: LambdaAuthorizer;
  feed: PollFollower;
  close(): Promise<void>;
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
    });
    // Routes that arrived while the core was being built.
    core.setRoutes(routes);
  } catch (err) {
    feed.close();
    state.close();
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
    },
  };
}
