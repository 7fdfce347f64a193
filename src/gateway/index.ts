export type { AcceptedCertificate, PresentedCertificate } from './check-client-certificate.ts';
export { createGateway, type Gateway } from './create-gateway.ts';
export {
  createDecisionCore,
  type Decision,
  type DecisionCore,
  type DecisionCoreOptions,
  type ForwardedCertificate,
  type IdentityContext,
  type RequestFacts,
} from './decision/index.ts';
export {
  type DecisionRecord,
  decisionLineFields,
  decisionRecordOf,
  type GatewayStats,
} from './decision-log.ts';
export {
  createDecisionListener,
  type DecisionListener,
  type DecisionListenerOptions,
} from './doors/create-decision-listener.ts';
export {
  catalogRoutesOf,
  DECISIONS_PUSH_MAX_BYTES,
  DECISIONS_PUSH_MAX_ITEMS,
  DECISIONS_PUSH_PATH,
  FEED_ACK_PATH,
  FEED_CHANGE_KINDS,
  FEED_EVENTS,
  FEED_PATH,
  FEED_STREAM_HEADER,
  type FeedChange,
  type LivenessSnapshot,
  type SnapshotCertificate,
  type SnapshotRevokedToken,
} from './feed-protocol.ts';
export { type FeedFollower, type FollowFeedOptions, followFeed } from './follow-feed.ts';
export { GATEWAY_SECRET_HEADER, HOP_BY_HOP, type IdentityHeaders } from './forward-headers.ts';
export { GATEWAY_REASONS, GatewayError, type GatewayReason } from './gateway-error.ts';
export {
  type ClientLiveness,
  createMemoryLivenessState,
  type LivenessOptions,
  type LivenessState,
  MemoryLivenessState,
} from './liveness.ts';
export {
  type CatalogRoute,
  type CatalogRoutePolicy,
  compileRouteTable,
  type LegacyCatalogRoute,
  type RouteAuth,
  type RouteDpop,
  type RouteMatch,
  type RouteMtls,
  type RouteTable,
} from './match-route.ts';
export { DEFAULT_ALGORITHMS, type GatewayOptions, type UpstreamTls } from './options.ts';
export { parseRequestTarget, type RequestTarget } from './parse-request-target.ts';
export { type ProxyCertificates, proxyCertificates } from './proxy-certificates.ts';
export { type DecisionPusher, pushDecisions } from './push-decisions.ts';
export {
  type StandaloneGateway,
  type StandaloneGatewayOptions,
  startStandaloneGateway,
} from './start-standalone-gateway.ts';
export { tlsPeerCertificate } from './tls-peer-certificate.ts';
