import { type Clock, systemClock } from '../shared/clock.ts';
import {
  normaliseRules,
  type RateLimitPolicy,
  type RateLimitRule,
  rateLimitPolicyProblem,
  rateLimitRulesProblem,
} from '../shared/rate-limit/policy.ts';
import { type ExternalCaLiveness, externalCaLiveness } from './external-ca-liveness.ts';
import {
  FEED_CHANGE_KINDS,
  type FeedChange,
  type LivenessSnapshot,
  type SnapshotExternalCa,
} from './feed-protocol.ts';

/** The rate limits operators set, as the feed carries them (issue 16). */
export interface RateLimitSettings {
  /** The catalog-wide default; an operation's own `rateLimit` replaces it for that operation. */
  catalog: RateLimitPolicy | undefined;
  /** Per organisation: replaces the catalog's `organisation` limits for it (an empty list: unlimited). */
  organisation(orgId: string): readonly RateLimitRule[] | undefined;
  /** Per application: replaces the catalog's `client` limits for it (an empty list: unlimited). */
  application(clientId: string): readonly RateLimitRule[] | undefined;
}

export interface ClientLiveness {
  clientId: string;
  orgId: string;
  status: string;
  authMethod: string;
  /** x5t#S256 of the self-signed certificates registered for self_signed_tls_client_auth (RFC 8705 §2.2). */
  selfSignedX5t: readonly string[];
  /** Applications whose platform-issued certificates this client may present besides its own (its software's). */
  certificateApps: readonly string[];
  /** sandbox | production (issue 15), forwarded upstream as x-accredit-environment; absent from older feeds. */
  environment?: string;
}

/** What the gateway must know per request without a database query: who is still allowed in. */
export interface LivenessState {
  client(clientId: string): ClientLiveness | undefined;
  orgStatus(orgId: string): string | undefined;
  isCertificateRevoked(x5tS256: string): boolean;
  isTokenRevoked(jti: string): boolean;
  /** The client that registered this self-signed certificate, whatever its status. */
  selfSignedOwner(x5tS256: string): ClientLiveness | undefined;
  /** The application the platform issued this (unexpired) certificate to, whatever its status. */
  issuedCertificateOwner(x5tS256: string): string | undefined;
  /** The organisations' own registered CAs (bring your own CA), with their revocation state. */
  externalCas(): readonly ExternalCaLiveness[];
  /** The rate limits operators set (absent from older states: none). */
  rateLimits?(): RateLimitSettings;
  /** Applies one change-feed entry; applying the same entry twice leaves the state as once. */
  apply(change: FeedChange): void;
  /** Replaces everything with a snapshot: what it does not list is forgotten. */
  replace(snapshot: LivenessSnapshot): void;
  /** Drops revoked token ids whose tokens can no longer be presented. */
  prune(now: Date): void;
  close(): void;
}

export interface LivenessOptions {
  clock?: Clock;
  /** How often expired revoked-token entries are dropped; default 60 s. */
  pruneIntervalMs?: number;
}

// A revoked jti is kept this long past its token's exp so clock tolerance can never reopen the window.
const REVOKED_JTI_GRACE_MS = 300_000;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

// JWT NumericDate seconds (RFC 7519 §2); NaN when the change carries none.
function expiryMs(exp: unknown): number {
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : Number.NaN;
}

// A CA certificate the gateway cannot read vouches for nobody (fail closed), and never stops the feed.
function parsedOrUndefined(ca: SnapshotExternalCa): ExternalCaLiveness | undefined {
  try {
    return externalCaLiveness(ca);
  } catch {
    return undefined;
  }
}

export class MemoryLivenessState implements LivenessState {
  readonly #clients = new Map<string, ClientLiveness>();
  readonly #orgs = new Map<string, string>();
  readonly #revokedCerts = new Set<string>();
  readonly #revokedJtis = new Map<string, number>();
  readonly #selfSigned = new Map<string, string>();
  // x5t#S256 of each certificate the platform issued → its application and expiry (ms).
  readonly #issued = new Map<string, { clientId: string; notAfterMs: number }>();
  readonly #externalCas = new Map<string, ExternalCaLiveness>();
  #externalList: readonly ExternalCaLiveness[] = [];
  readonly #cleanups: Array<() => void> = [];
  #catalogRateLimit: RateLimitPolicy | undefined;
  readonly #orgRateLimits = new Map<string, RateLimitRule[]>();
  readonly #appRateLimits = new Map<string, RateLimitRule[]>();
  readonly #rateLimitSettings: RateLimitSettings = {
    catalog: undefined,
    organisation: (orgId) => this.#orgRateLimits.get(orgId),
    application: (clientId) => this.#appRateLimits.get(clientId),
  };

  rateLimits(): RateLimitSettings {
    return this.#rateLimitSettings;
  }

  /**
   * Sets (or, with a null/undefined policy, removes) one rate limit. A policy the gateway cannot read is
   * dropped, not half-applied: the subject falls back to the catalog's limits, and the feed goes on.
   */
  setRateLimit(kind: string, id: string, policy: unknown): void {
    if (kind === 'catalog') {
      const ok = policy != null && rateLimitPolicyProblem(policy, 'policy') === undefined;
      const given = policy as RateLimitPolicy;
      this.#catalogRateLimit = ok
        ? {
            ...(given.client !== undefined ? { client: normaliseRules(given.client) } : {}),
            ...(given.organisation !== undefined ? { organisation: normaliseRules(given.organisation) } : {}),
          }
        : undefined;
      this.#rateLimitSettings.catalog = this.#catalogRateLimit;
      return;
    }
    const map =
      kind === 'organisation'
        ? this.#orgRateLimits
        : kind === 'application'
          ? this.#appRateLimits
          : undefined;
    if (map === undefined || id.length === 0) return;
    if (policy == null || rateLimitRulesProblem(policy, 'policy') !== undefined) map.delete(id);
    else map.set(id, normaliseRules(policy as RateLimitRule[]));
  }

  client(clientId: string): ClientLiveness | undefined {
    return this.#clients.get(clientId);
  }

  orgStatus(orgId: string): string | undefined {
    return this.#orgs.get(orgId);
  }

  isCertificateRevoked(x5tS256: string): boolean {
    return this.#revokedCerts.has(x5tS256);
  }

  isTokenRevoked(jti: string): boolean {
    return this.#revokedJtis.has(jti);
  }

  selfSignedOwner(x5tS256: string): ClientLiveness | undefined {
    const clientId = this.#selfSigned.get(x5tS256);
    return clientId === undefined ? undefined : this.#clients.get(clientId);
  }

  issuedCertificateOwner(x5tS256: string): string | undefined {
    return this.#issued.get(x5tS256)?.clientId;
  }

  externalCas(): readonly ExternalCaLiveness[] {
    return this.#externalList;
  }

  /** Registers, updates (new CRL state) or, with undefined, forgets an external CA. */
  setExternalCa(id: string, ca: ExternalCaLiveness | undefined): void {
    if (ca === undefined) this.#externalCas.delete(id);
    else this.#externalCas.set(id, ca);
    this.#externalList = [...this.#externalCas.values()];
  }

  issueCertificate(x5tS256: string, clientId: string, notAfter: unknown): void {
    const notAfterMs = typeof notAfter === 'string' ? Date.parse(notAfter) : Number.NaN;
    this.#issued.set(x5tS256, { clientId, notAfterMs: Number.isNaN(notAfterMs) ? Infinity : notAfterMs });
  }

  setClient(next: ClientLiveness): void {
    const previous = this.#clients.get(next.clientId);
    for (const x5t of previous?.selfSignedX5t ?? []) {
      if (this.#selfSigned.get(x5t) === next.clientId) this.#selfSigned.delete(x5t);
    }
    this.#clients.set(next.clientId, next);
    // A deleted client owns no certificate any more (the directory has released it to whoever registers it next).
    if (next.status === 'deleted') return;
    for (const x5t of next.selfSignedX5t) this.#selfSigned.set(x5t, next.clientId);
  }

  setOrg(orgId: string, status: string): void {
    this.#orgs.set(orgId, status);
  }

  revokeCertificate(x5tS256: string): void {
    this.#revokedCerts.add(x5tS256);
  }

  revokeToken(jti: string, exp: unknown, now: Date): void {
    const ms = expiryMs(exp);
    // Without an exp, keep the entry for a day: longer than any access token lifetime we issue.
    this.#revokedJtis.set(jti, Number.isNaN(ms) ? now.getTime() + 86_400_000 : ms);
  }

  replace(snapshot: LivenessSnapshot): void {
    this.#clients.clear();
    this.#orgs.clear();
    this.#revokedCerts.clear();
    this.#revokedJtis.clear();
    this.#selfSigned.clear();
    this.#issued.clear();
    this.#externalCas.clear();
    this.#externalList = [];
    this.#orgRateLimits.clear();
    this.#appRateLimits.clear();
    this.setRateLimit('catalog', '*', undefined);
    for (const limit of snapshot.rateLimits ?? []) this.setRateLimit(limit.kind, limit.id, limit.policy);
    for (const ca of snapshot.externalCas ?? []) this.setExternalCa(ca.id, parsedOrUndefined(ca));
    for (const org of snapshot.organisations) this.setOrg(org.id, org.status);
    for (const app of snapshot.applications) this.setClient(app);
    for (const cert of snapshot.certificates) {
      this.issueCertificate(cert.x5tS256, cert.clientId, cert.notAfter);
      if (cert.revoked) this.revokeCertificate(cert.x5tS256);
    }
    for (const token of snapshot.revokedTokens) this.revokeToken(token.jti, token.exp, new Date(token.at));
  }

  apply(change: FeedChange): void {
    const p = change.payload;
    switch (change.kind) {
      case FEED_CHANGE_KINDS.orgStatus: {
        const status = str(p.status);
        if (status) this.setOrg(change.entityId, status);
        return;
      }
      case FEED_CHANGE_KINDS.appStatus: {
        const status = str(p.status);
        if (!status) return;
        const known = this.#clients.get(change.entityId);
        this.setClient({
          clientId: change.entityId,
          orgId: str(p.org_id) ?? known?.orgId ?? '',
          status,
          authMethod: known?.authMethod ?? '',
          selfSignedX5t: known?.selfSignedX5t ?? [],
          certificateApps: known?.certificateApps ?? [],
          ...(known?.environment !== undefined ? { environment: known.environment } : {}),
        });
        return;
      }
      case FEED_CHANGE_KINDS.appRegistered: {
        const orgId = str(p.org_id);
        const status = str(p.status);
        if (!orgId || !status) return;
        const x5ts = Array.isArray(p.self_signed_x5t) ? p.self_signed_x5t.filter((x) => str(x)) : [];
        const apps = Array.isArray(p.certificate_apps) ? p.certificate_apps.filter((x) => str(x)) : [];
        const environment = str(p.environment) ?? this.#clients.get(change.entityId)?.environment;
        this.setClient({
          clientId: change.entityId,
          orgId,
          status,
          authMethod: str(p.auth_method) ?? '',
          selfSignedX5t: x5ts as string[],
          certificateApps: apps as string[],
          ...(environment !== undefined ? { environment } : {}),
        });
        return;
      }
      case FEED_CHANGE_KINDS.certIssued: {
        const x5t = str(p.x5t_s256);
        const clientId = str(p.client_id);
        if (x5t && clientId) this.issueCertificate(x5t, clientId, p.not_after);
        return;
      }
      case FEED_CHANGE_KINDS.certRevoked: {
        const x5t = str(p.x5t_s256);
        if (x5t) this.revokeCertificate(x5t);
        return;
      }
      case FEED_CHANGE_KINDS.externalCaChanged: {
        const orgId = str(p.org_id);
        const pem = str(p.certificate_pem);
        const pin = str(p.spki_sha256);
        if (p.status === 'removed' || !orgId || !pem || !pin) {
          this.setExternalCa(change.entityId, undefined);
          return;
        }
        const serials = Array.isArray(p.revoked_serials) ? p.revoked_serials.filter((x) => str(x)) : [];
        this.setExternalCa(
          change.entityId,
          parsedOrUndefined({
            id: change.entityId,
            orgId,
            certificatePem: pem,
            spkiSha256: pin,
            revokedSerials: serials as string[],
            staleAfter: str(p.stale_after) ?? null,
          }),
        );
        return;
      }
      case FEED_CHANGE_KINDS.rateLimitChanged: {
        const kind = str(p.subject_kind);
        const id = str(p.subject_id);
        if (kind && id) this.setRateLimit(kind, id, p.policy);
        return;
      }
      case FEED_CHANGE_KINDS.tokenRevoked: {
        const jti = str(p.jti) ?? change.entityId;
        this.revokeToken(jti, p.exp, new Date(change.at));
        return;
      }
    }
  }

  prune(now: Date): void {
    const cutoff = now.getTime() - REVOKED_JTI_GRACE_MS;
    for (const [jti, exp] of this.#revokedJtis) if (exp < cutoff) this.#revokedJtis.delete(jti);
    // An expired certificate is refused in step 1 before its owner is looked up.
    for (const [x5t, issued] of this.#issued) if (issued.notAfterMs < now.getTime()) this.#issued.delete(x5t);
  }

  /** Runs `cleanup` when the state is closed (timers, feed subscriptions). */
  onClose(cleanup: () => void): void {
    this.#cleanups.push(cleanup);
  }

  close(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }
}

/** An empty state that a feed (in-process or over HTTPS) fills with a snapshot and keeps current. */
export function createMemoryLivenessState(options: LivenessOptions = {}): MemoryLivenessState {
  const clock = options.clock ?? systemClock;
  const state = new MemoryLivenessState();
  const timer = setInterval(() => state.prune(clock()), options.pruneIntervalMs ?? 60_000);
  timer.unref();
  state.onClose(() => clearInterval(timer));
  return state;
}
