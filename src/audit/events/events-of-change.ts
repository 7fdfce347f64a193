import { CHANGE_KINDS, type Change } from '../../storage/index.ts';
import type { PlatformEventInput } from './event-types.ts';

const str = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);

/**
 * What a change-feed entry means to subscribers. Entries that mean nothing to them (catalog edits, key
 * changes of an application) give no event; a registration's creation gives two (application and registration).
 */
export function eventsOfChange(change: Change): PlatformEventInput[] {
  const p = change.payload;
  switch (change.kind) {
    case CHANGE_KINDS.orgStatus: {
      const status = str(p.status);
      const type =
        status === 'active'
          ? 'organisation.activated'
          : status === 'suspended'
            ? 'organisation.suspended'
            : status === 'offboarded'
              ? 'organisation.offboarded'
              : null;
      if (!type) return [];
      return [
        {
          type,
          orgId: change.entityId,
          clientId: null,
          subject: { kind: 'organisation', id: change.entityId },
          data: { status },
        },
      ];
    }
    case CHANGE_KINDS.appStatus: {
      const status = str(p.status);
      const orgId = str(p.org_id);
      const subject = { kind: 'application' as const, id: change.entityId };
      const events: PlatformEventInput[] = [];
      const type =
        status === 'active'
          ? 'application.activated'
          : status === 'suspended'
            ? 'application.suspended'
            : status === 'deleted'
              ? 'application.deleted'
              : null;
      if (type) events.push({ type, orgId, clientId: change.entityId, subject, data: { status } });
      const registration = str(p.registration_type);
      if (status === 'deleted' && (registration === 'dynamic' || registration === 'federation')) {
        events.push({
          type: 'registration.ended',
          orgId,
          clientId: change.entityId,
          subject,
          data: { registration_type: registration },
        });
      }
      return events;
    }
    case CHANGE_KINDS.appRegistered: {
      if (p.created !== true) return [];
      const orgId = str(p.org_id);
      const subject = { kind: 'application' as const, id: change.entityId };
      const registration = str(p.registration_type) ?? 'manual';
      const events: PlatformEventInput[] = [
        {
          type: 'application.activated',
          orgId,
          clientId: change.entityId,
          subject,
          data: { status: 'active', registration_type: registration },
        },
      ];
      if (registration === 'dynamic' || registration === 'federation') {
        events.push({
          type: 'registration.created',
          orgId,
          clientId: change.entityId,
          subject,
          data: { registration_type: registration },
        });
      }
      return events;
    }
    case CHANGE_KINDS.certIssued: {
      const renews = str(p.renews);
      return [
        {
          type: renews ? 'certificate.renewed' : 'certificate.issued',
          orgId: str(p.org_id),
          clientId: str(p.client_id),
          subject: { kind: 'certificate', id: change.entityId, x5t_s256: str(p.x5t_s256) },
          data: { serial: change.entityId, not_after: str(p.not_after), ...(renews ? { renews } : {}) },
        },
      ];
    }
    case CHANGE_KINDS.certRevoked:
      return [
        {
          type: 'certificate.revoked',
          orgId: str(p.org_id),
          clientId: str(p.client_id),
          subject: { kind: 'certificate', id: change.entityId, x5t_s256: str(p.x5t_s256) },
          data: { serial: change.entityId, reason: str(p.reason) },
        },
      ];
    case CHANGE_KINDS.tokenRevoked:
      return [
        {
          type: 'token.revoked',
          orgId: str(p.org_id),
          clientId: str(p.client_id),
          subject: { kind: 'token', id: str(p.jti) ?? change.entityId },
          data: {},
        },
      ];
    case CHANGE_KINDS.federationTrustMark: {
      const status = str(p.status);
      const type =
        status === 'revoked' ? 'trust_mark.revoked' : status === 'active' ? 'trust_mark.issued' : null;
      if (!type) return [];
      return [
        {
          type,
          orgId: str(p.org_id),
          clientId: null,
          subject: { kind: 'trust_mark', id: change.entityId, sub: str(p.sub) },
          data: { trust_mark_type: str(p.trust_mark_type), sub: str(p.sub) },
        },
      ];
    }
    default:
      return [];
  }
}
