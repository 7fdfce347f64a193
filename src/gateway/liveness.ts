import { createHash } from 'node:crypto';
import { certificateApplications } from '../directory/index.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { CHANGE_KINDS, type Change, type Storage } from '../storage/index.ts';

export interface ClientLiveness {
  clientId: string;
  orgId: string;
  status: string;
  authMethod: string;
  /** x5t#S256 of the self-signed certificates registered for self_signed_tls_client_auth (RFC 8705 §2.2). */
  selfSignedX5t: readonly string[];
  /** Applications whose platform-issued certificates this client may present besides its own (its software's). */
  certificateApps: readonly string[];
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
  /** Applies one change-feed entry; exposed so that another feed transport can drive the same state. */
  apply(change: Change): void;
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
const SELF_SIGNED = 'self_signed_tls_client_auth';

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function thumbprintOfBase64Der(b64: unknown): string | undefined {
  if (typeof b64 !== 'string' || b64.length === 0) return undefined;
  // RFC 7517 §4.7: x5c entries are standard base64 (not base64url) DER.
  const der = Buffer.from(b64, 'base64');
  return der.length > 0 ? createHash('sha256').update(der).digest('base64url') : undefined;
}

function parseMetadata(metadataJson: string): Record<string, unknown> {
  try {
    const metadata: unknown = JSON.parse(metadataJson);
    return typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** RFC 8705 §2.2: the self-signed certificates are the first x5c entry of each key in the client's jwks. */
export function selfSignedThumbprints(authMethod: string, metadataJson: string): string[] {
  if (authMethod !== SELF_SIGNED) return [];
  const keys = (parseMetadata(metadataJson) as { jwks?: { keys?: unknown } }).jwks?.keys;
  if (!Array.isArray(keys)) return [];
  const out: string[] = [];
  for (const key of keys) {
    const x5c = (key as { x5c?: unknown } | null)?.x5c;
    const x5t = Array.isArray(x5c) ? thumbprintOfBase64Der(x5c[0]) : undefined;
    if (x5t) out.push(x5t);
  }
  return out;
}

// JWT NumericDate seconds (RFC 7519 §2); NaN when the change carries none.
function expiryMs(exp: unknown): number {
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : Number.NaN;
}

class MemoryLivenessState implements LivenessState {
  readonly #clients = new Map<string, ClientLiveness>();
  readonly #orgs = new Map<string, string>();
  readonly #revokedCerts = new Set<string>();
  readonly #revokedJtis = new Map<string, number>();
  readonly #selfSigned = new Map<string, string>();
  // x5t#S256 of each certificate the platform issued → its application and expiry (ms).
  readonly #issued = new Map<string, { clientId: string; notAfterMs: number }>();
  #cleanup: (() => void) | undefined;

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

  apply(change: Change): void {
    const p = change.payload;
    switch (change.kind) {
      case CHANGE_KINDS.orgStatus: {
        const status = str(p.status);
        if (status) this.setOrg(change.entityId, status);
        return;
      }
      case CHANGE_KINDS.appStatus: {
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
        });
        return;
      }
      case CHANGE_KINDS.appRegistered: {
        const orgId = str(p.org_id);
        const status = str(p.status);
        if (!orgId || !status) return;
        const x5ts = Array.isArray(p.self_signed_x5t) ? p.self_signed_x5t.filter((x) => str(x)) : [];
        const apps = Array.isArray(p.certificate_apps) ? p.certificate_apps.filter((x) => str(x)) : [];
        this.setClient({
          clientId: change.entityId,
          orgId,
          status,
          authMethod: str(p.auth_method) ?? '',
          selfSignedX5t: x5ts as string[],
          certificateApps: apps as string[],
        });
        return;
      }
      case CHANGE_KINDS.certIssued: {
        const x5t = str(p.x5t_s256);
        const clientId = str(p.client_id);
        if (x5t && clientId) this.issueCertificate(x5t, clientId, p.not_after);
        return;
      }
      case CHANGE_KINDS.certRevoked: {
        const x5t = str(p.x5t_s256);
        if (x5t) this.revokeCertificate(x5t);
        return;
      }
      case CHANGE_KINDS.tokenRevoked: {
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

  onClose(cleanup: () => void): void {
    this.#cleanup = cleanup;
  }

  close(): void {
    this.#cleanup?.();
    this.#cleanup = undefined;
  }
}

/**
 * Loads a snapshot of who may call (clients, organisations, revoked certificates and token ids) and keeps it
 * current from the change feed. Changes published in this process are applied before their transaction's
 * caller returns (Storage.transaction syncs the feed), so the next request already sees them.
 */
export async function createLivenessState(
  storage: Storage,
  options: LivenessOptions = {},
): Promise<LivenessState> {
  const clock = options.clock ?? systemClock;
  const state = new MemoryLivenessState();
  // Subscribe first and hold what arrives while the snapshot loads; entries at or before `seq` are in it.
  let pending: Change[] | undefined = [];
  let seq = 0;
  const unsubscribe = storage.feed.subscribe((change) => {
    if (pending) pending.push(change);
    else if (change.seq > seq) state.apply(change);
  });
  try {
    seq = await storage.feed.currentSeq();
    const now = clock();
    const [orgs, apps, certs, issuedCerts, revokedTokens] = await Promise.all([
      storage.db.selectFrom('organisations').select(['id', 'status']).execute(),
      storage.db
        .selectFrom('applications')
        .select(['client_id', 'org_id', 'status', 'auth_method', 'registration_type', 'metadata'])
        .execute(),
      storage.db
        .selectFrom('certificates')
        .select('x5t_s256')
        .where('status', '=', 'revoked')
        .where('not_after', '>', now.toISOString())
        .execute(),
      storage.db
        .selectFrom('certificates')
        .select(['x5t_s256', 'client_id', 'not_after'])
        .where('not_after', '>', now.toISOString())
        .execute(),
      storage.db
        .selectFrom('change_feed')
        .select(['entity_id', 'payload', 'at'])
        .where('kind', '=', CHANGE_KINDS.tokenRevoked)
        .where('seq', '<=', seq)
        .execute(),
    ]);
    for (const org of orgs) state.setOrg(org.id, org.status);
    for (const app of apps) {
      state.setClient({
        clientId: app.client_id,
        orgId: app.org_id,
        status: app.status,
        authMethod: app.auth_method,
        selfSignedX5t: selfSignedThumbprints(app.auth_method, app.metadata),
        certificateApps: certificateApplications(app.registration_type, parseMetadata(app.metadata)),
      });
    }
    for (const cert of issuedCerts) state.issueCertificate(cert.x5t_s256, cert.client_id, cert.not_after);
    for (const cert of certs) state.revokeCertificate(cert.x5t_s256);
    for (const row of revokedTokens) {
      const payload = JSON.parse(row.payload) as { jti?: unknown; exp?: unknown };
      state.revokeToken(str(payload.jti) ?? row.entity_id, payload.exp, new Date(row.at));
    }
    state.prune(now);
    // No-op when the platform already follows the feed; otherwise nothing after `seq` can be missed.
    await storage.feed.start(seq);
    const held = pending;
    pending = undefined;
    for (const change of held) if (change.seq > seq) state.apply(change);
    await storage.feed.sync();
  } catch (err) {
    unsubscribe();
    throw err;
  }
  const timer = setInterval(() => state.prune(clock()), options.pruneIntervalMs ?? 60_000);
  timer.unref();
  state.onClose(() => {
    clearInterval(timer);
    unsubscribe();
  });
  return state;
}
