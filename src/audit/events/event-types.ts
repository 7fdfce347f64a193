/**
 * The platform's events: what a partner's or the provider's systems subscribe to (webhooks, Shared Signals).
 * Names are `<subject>.<what happened>`; every event says which organisation (and client) it concerns so that
 * a subscriber scoped to one organisation sees only its own.
 */
export const EVENT_TYPES = [
  'organisation.activated',
  'organisation.suspended',
  'organisation.offboarded',
  'application.activated',
  'application.suspended',
  'application.deleted',
  'certificate.issued',
  'certificate.renewed',
  'certificate.revoked',
  // Raised by the expiry monitor at 30, 14, 7 and 1 days (partner and CA certificates).
  'certificate.expiring',
  // Raised by the expiry monitor for federation and software-statement signing keys.
  'key.expiring',
  'registration.created',
  'registration.ended',
  'token.revoked',
  'trust_mark.issued',
  'trust_mark.revoked',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);

/** What an event is about: `kind` names the thing (organisation, application, certificate, key, …). */
export interface EventSubject {
  kind: 'organisation' | 'application' | 'certificate' | 'ca_certificate' | 'key' | 'token' | 'trust_mark';
  id: string;
  [field: string]: unknown;
}

export interface PlatformEventInput {
  type: EventType;
  orgId: string | null;
  clientId: string | null;
  subject: EventSubject;
  data: Record<string, unknown>;
}

export interface PlatformEvent extends PlatformEventInput {
  /** Commit order: consumers follow events by this, with their own cursor. */
  seq: number;
  /** UUID: the idempotency key of every delivery of this event. */
  id: string;
  occurredAt: string;
}
