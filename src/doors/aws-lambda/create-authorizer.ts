import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Decision, DecisionCore } from '../../gateway/decision/index.ts';
import {
  type AuthorizerResult,
  authorizerResult,
  type PolicyResource,
  type ResponseMode,
  UNAUTHORIZED,
} from './authorizer-result.ts';
import { type EventFacts, httpApiFacts, restApiFacts, UnreadableEvent } from './event-facts.ts';
import {
  type AuthorizerEvent,
  eventKind,
  type HttpApiAuthorizerEvent,
  type RestApiAuthorizerEvent,
} from './events.ts';

/** The door's name in decision lines. */
export const LAMBDA_DOOR = 'aws-lambda';

export interface LambdaAuthorizerOptions {
  core: DecisionCore;
  /** Keeps the core's liveness state current (the poll follower) and says when it is too old to use. */
  feed: { refresh(): Promise<void>; staleness(): string | undefined };
  responseMode: ResponseMode;
  policyResource: PolicyResource;
  stripPrefix?: string | undefined;
  /** The API's external base URL for DPoP `htu`; default the event's domain name (+ stripPrefix). */
  publicUrl?: string | undefined;
  logger: Logger;
}

export type LambdaAuthorizer = (event: AuthorizerEvent | unknown) => Promise<AuthorizerResult>;

function refusal(status: 403 | 503, reason: string, detail: string): Decision {
  return {
    allow: false,
    status,
    reason,
    detail,
    challenge: undefined,
  };
}

/** The same event without its client certificate. */
function withoutCertificate(event: AuthorizerEvent): AuthorizerEvent {
  if ('routeArn' in event)
    return { ...event, requestContext: { ...event.requestContext, authentication: null } };
  const ctx = event.requestContext ?? {};
  return { ...event, requestContext: { ...ctx, identity: { ...ctx.identity, clientCert: null } } };
}

/**
 * One invocation: the event's facts, a conditional refresh of the change feed, the core's decision, the decision
 * line, then the answer API Gateway understands (authorizer-result.ts). Fails closed: an unknown event is
 * `Unauthorized`; a state older than the staleness bound is a 503 denial (`feed_stale`), never a guess.
 */
export function createLambdaAuthorizer(options: LambdaAuthorizerOptions): LambdaAuthorizer {
  const { core, feed, logger } = options;
  const mapping = { stripPrefix: options.stripPrefix, publicUrl: options.publicUrl };

  return async (event) => {
    const started = performance.now();
    const kind = eventKind(event);
    if (kind === undefined) {
      // Not a REQUEST authorizer event of either API: nothing to decide on, and nothing to name in a policy.
      logger.warn('not an API Gateway REQUEST authorizer event; refused');
      throw new Error(UNAUTHORIZED);
    }
    const factsOf = (e: unknown): EventFacts =>
      kind === 'http'
        ? httpApiFacts(e as HttpApiAuthorizerEvent, mapping)
        : restApiFacts(e as RestApiAuthorizerEvent, mapping);
    let read: EventFacts;
    let decision: Decision | undefined;
    try {
      read = factsOf(event);
    } catch (err) {
      if (!(err instanceof UnreadableEvent)) throw err;
      // The request without the certificate that did not parse, so that its refusal is recorded like any other.
      read = factsOf(withoutCertificate(event as AuthorizerEvent));
      // As the gateway refuses an untrusted TLS peer certificate: 403, no token is read.
      decision = refusal(403, err.reason, err.message);
    }
    const { facts } = read;
    if (decision === undefined) {
      await feed.refresh();
      const stale = feed.staleness();
      if (stale !== undefined) decision = refusal(503, 'feed_stale', stale);
    }
    if (decision === undefined) {
      try {
        decision = await core.decide(facts);
      } catch (err) {
        // An internal fault, not a request's: the invocation fails and API Gateway answers 500 (never cached).
        logger.error({ err, request_id: facts.requestId }, 'the decision core failed');
        throw new Error('internal_error');
      }
    }
    core.record(LAMBDA_DOOR, facts, decision, Math.round((performance.now() - started) * 1000) / 1000);
    return authorizerResult(decision, {
      kind: read.kind,
      mode: options.responseMode,
      policyResource: options.policyResource,
      resource: read.resource,
      requestId: facts.requestId,
    });
  };
}
