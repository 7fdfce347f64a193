import type { PlatformEvent } from '../events/index.ts';
import { SSF_EVENT_TYPES } from './ssf-vocabulary.ts';
import type { SubjectIdentifier } from './subject-identifier.ts';

/** What an SSF stream carries for one platform event: one event type, its payload and its subject. */
export interface SignalOfEvent {
  type: string;
  subId: SubjectIdentifier;
  payload: Record<string, unknown>;
}

export interface SignalContext {
  /** The authorization server's issuer: a client is `iss_sub` with its client_id as `sub`, as in its tokens. */
  issuer: string;
  /** RFC 4514 name of the CA that issues partner certificates (CAEP 1.0 §3.3 `x509_issuer`). */
  x509Issuer: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

const tenantOf = (orgId: string) => ({ format: 'opaque', id: orgId });

/** An organisation: a tenant in a multi-tenanted service (SSF 1.0 §3.2). */
export function organisationSubject(orgId: string): SubjectIdentifier {
  return { format: 'complex', tenant: tenantOf(orgId) };
}

/** A client (application): the `sub` of its client-credentials tokens at the issuer, within its organisation. */
export function clientSubject(ctx: SignalContext, clientId: string, orgId: string | null): SubjectIdentifier {
  return {
    format: 'complex',
    application: { format: 'iss_sub', iss: ctx.issuer, sub: clientId },
    ...(orgId ? { tenant: tenantOf(orgId) } : {}),
  };
}

const timestamp = (event: PlatformEvent) => Math.floor(Date.parse(event.occurredAt) / 1000);

/**
 * Maps a platform event to the CAEP / RISC event a receiver understands, or undefined when SSF has no word
 * for it (registrations, Trust Marks, expiry warnings). Certificates: CAEP credential-change (§3.3) with
 * `credential_type` x509; revoked tokens: CAEP session-revoked (§3.1), the token's `jti` as the session;
 * suspension: RISC account-disabled (§2.3, no `reason`: RISC defines only hijacking and bulk-account);
 * re-activation: account-enabled (§2.4); offboarding and deletion: account-purged (§2.6).
 */
export function signalOfEvent(event: PlatformEvent, ctx: SignalContext): SignalOfEvent | undefined {
  const orgId = event.orgId;
  const clientId = event.clientId;
  const common = { event_timestamp: timestamp(event) };
  switch (event.type) {
    case 'certificate.issued':
    case 'certificate.renewed':
    case 'certificate.revoked': {
      if (!clientId) return undefined;
      const serial = str(event.data.serial) ?? event.subject.id;
      const x5t = str(event.subject.x5t_s256);
      const reason = str(event.data.reason);
      return {
        type: SSF_EVENT_TYPES.credentialChange,
        subId: clientSubject(ctx, clientId, orgId),
        payload: {
          ...common,
          credential_type: 'x509',
          change_type:
            event.type === 'certificate.issued'
              ? 'create'
              : event.type === 'certificate.renewed'
                ? 'update'
                : 'revoke',
          x509_issuer: ctx.x509Issuer,
          x509_serial: serial,
          // Extension member: the RFC 8705 thumbprint gateways pin and tokens are bound to.
          ...(x5t ? { 'x5t#S256': x5t } : {}),
          ...(event.type === 'certificate.revoked'
            ? {
                initiating_entity: 'admin',
                ...(reason ? { reason_admin: { en: `revoked: ${reason}` } } : {}),
              }
            : {}),
        },
      };
    }
    case 'token.revoked': {
      if (!clientId) return undefined;
      return {
        type: SSF_EVENT_TYPES.sessionRevoked,
        subId: {
          ...clientSubject(ctx, clientId, orgId),
          session: { format: 'opaque', id: event.subject.id },
        },
        payload: common,
      };
    }
    case 'organisation.suspended':
      return orgId
        ? { type: SSF_EVENT_TYPES.accountDisabled, subId: organisationSubject(orgId), payload: common }
        : undefined;
    case 'organisation.activated':
      return orgId
        ? { type: SSF_EVENT_TYPES.accountEnabled, subId: organisationSubject(orgId), payload: common }
        : undefined;
    case 'organisation.offboarded':
      return orgId
        ? { type: SSF_EVENT_TYPES.accountPurged, subId: organisationSubject(orgId), payload: common }
        : undefined;
    case 'application.suspended':
      return clientId
        ? {
            type: SSF_EVENT_TYPES.accountDisabled,
            subId: clientSubject(ctx, clientId, orgId),
            payload: common,
          }
        : undefined;
    case 'application.activated':
      // A registration also raises application.activated: a new client was never disabled, nothing to re-enable.
      if (!clientId || event.data.registration_type !== undefined) return undefined;
      return {
        type: SSF_EVENT_TYPES.accountEnabled,
        subId: clientSubject(ctx, clientId, orgId),
        payload: common,
      };
    case 'application.deleted':
      return clientId
        ? { type: SSF_EVENT_TYPES.accountPurged, subId: clientSubject(ctx, clientId, orgId), payload: common }
        : undefined;
    default:
      return undefined;
  }
}
