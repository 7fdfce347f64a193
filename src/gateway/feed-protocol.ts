import type { ClientLiveness } from './liveness.ts';
import type { CatalogRoute } from './match-route.ts';

/**
 * The change kinds an enforcement point applies, as the platform's change feed names them; repeated here so
 * that a gateway process loads nothing of the platform or its storage (a test keeps the two in step).
 */
export const FEED_CHANGE_KINDS = {
  orgStatus: 'org.status',
  appStatus: 'app.status',
  appRegistered: 'app.registered',
  certIssued: 'cert.issued',
  certRevoked: 'cert.revoked',
  tokenRevoked: 'token.revoked',
  catalogChanged: 'catalog.changed',
  externalCaChanged: 'external_ca.changed',
  caChanged: 'ca.changed',
  rateLimitChanged: 'rate_limit.changed',
} as const;

/** One entry of the change feed: `seq` orders them, without gaps the client could not notice. */
export interface FeedChange {
  seq: number;
  at: string;
  kind: string;
  entityId: string;
  payload: Record<string, unknown>;
}

/** A platform-issued certificate that has not expired, revoked or not. */
export interface SnapshotCertificate {
  x5tS256: string;
  clientId: string;
  notAfter: string;
  revoked: boolean;
}

/** An organisation's own CA (bring your own CA) and its revocation state from its last verified CRL. */
export interface SnapshotExternalCa {
  id: string;
  orgId: string;
  certificatePem: string;
  /** base64url SHA-256 of the CA's subjectPublicKeyInfo. */
  spkiSha256: string;
  /** Upper-case hex serials, no leading zeros. */
  revokedSerials: string[];
  /** After this instant (or at once, when null) the CA's certificates are refused: issuer_revocation_stale. */
  staleAfter: string | null;
}

/** A revoked access token id; kept until its token can no longer be presented. */
export interface SnapshotRevokedToken {
  jti: string;
  /** JWT NumericDate (RFC 7519 §2), or null when the revocation did not record it. */
  exp: number | null;
  at: string;
}

/**
 * A rate limit an operator set (issue 16): `catalog` / `*` carries the catalog-wide default
 * ({ client?, organisation? }); `organisation` / `application` a rule list ([{ quota, window }]) that replaces
 * the catalog's limits of that kind for that subject. A `rate_limit.changed` entry carries the same fields
 * (`subject_kind`, `subject_id`, `policy`: null when the limit was removed).
 */
export interface SnapshotRateLimit {
  kind: 'catalog' | 'organisation' | 'application';
  id: string;
  policy: unknown;
}

/** Everything access-affecting as of `seq`: changes after it arrive as deltas (applying one twice is harmless). */
export interface LivenessSnapshot {
  seq: number;
  organisations: Array<{ id: string; status: string }>;
  applications: ClientLiveness[];
  certificates: SnapshotCertificate[];
  revokedTokens: SnapshotRevokedToken[];
  routes: CatalogRoute[];
  /** Registered external CAs (absent from platforms before bring-your-own-CA: none). */
  externalCas?: SnapshotExternalCa[];
  /** The platform's CA bundle (trusted issuing CAs, then the root); absent from older platforms. */
  trustBundle?: string;
  /** Rate limits set by operators (absent from platforms before issue 16: none). */
  rateLimits?: SnapshotRateLimit[];
}

/** The server-sent event names of `GET /enforcement/v1/feed`. */
export const FEED_EVENTS = { snapshot: 'snapshot', change: 'change' } as const;
export const FEED_PATH = '/enforcement/v1/feed';
/** POST `{ stream, seq }`: the client has applied everything up to `seq` (the platform answers revoking calls after). */
export const FEED_ACK_PATH = '/enforcement/v1/feed/ack';
/**
 * POST `{ decisions: [...] }` (issue 16, optional): a standalone gateway's decision lines for the platform's
 * shared decision log, with its enforcement credential; at most DECISIONS_PUSH_MAX_ITEMS lines and
 * DECISIONS_PUSH_MAX_BYTES bytes a request.
 */
export const DECISIONS_PUSH_PATH = '/enforcement/v1/decisions';
export const DECISIONS_PUSH_MAX_ITEMS = 1000;
export const DECISIONS_PUSH_MAX_BYTES = 1024 * 1024;
/** Response header naming the stream, for acknowledgements. */
export const FEED_STREAM_HEADER = 'x-accredit-feed-stream';

/**
 * The whole new route table a `catalog.changed` entry carries (operations with their policy, or an older
 * platform's one-scope rows), or undefined for any other entry. The rows are not filtered here: a table the
 * gateway cannot enforce whole is refused by `compileRouteTable`, and the previous one stays in force.
 */
export function catalogRoutesOf(change: FeedChange): CatalogRoute[] | undefined {
  if (change.kind !== FEED_CHANGE_KINDS.catalogChanged) return undefined;
  const routes = change.payload.routes;
  if (!Array.isArray(routes)) return undefined;
  return routes as CatalogRoute[];
}

/** The new CA bundle a `ca.changed` entry carries (an issuing CA rotated in, retired or revoked). */
export function trustBundleOf(change: FeedChange): string | undefined {
  if (change.kind !== FEED_CHANGE_KINDS.caChanged) return undefined;
  const bundle = change.payload.bundle_pem;
  return typeof bundle === 'string' && bundle.length > 0 ? bundle : undefined;
}
