import type { PlatformEvent } from '../events/index.ts';

/** The event types that are mailed; everything else reaches subscribers through webhooks and SSF only. */
export const MAILED_EVENT_TYPES = [
  'certificate.expiring',
  'key.expiring',
  'certificate.revoked',
  'organisation.suspended',
] as const;

export interface NotificationMail {
  subject: string;
  body: string;
}

// Names come from partners: no control characters (header injection, terminal escapes) and bounded length.
const clean = (value: unknown, max = 120): string => {
  const text = typeof value === 'string' ? value : value == null ? '' : String(value);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

const shortId = (id: unknown): string => {
  const text = clean(id).toUpperCase();
  return text.length > 8 ? `${text.slice(0, 8)}…` : text;
};

const inDays = (days: unknown): string => {
  const n = typeof days === 'number' ? days : 0;
  if (n <= 0) return 'today';
  return n === 1 ? 'in 1 day' : `in ${n} days`;
};

const KEY_NAMES: Record<string, string> = {
  federation: 'Federation entity key',
  software_statement: 'Software statement key',
  access_token: 'Access token key',
};

const FOOTER_CONTACT = (org: string) =>
  `You receive this message as a security contact of ${org} on the Accredit platform.`;
const FOOTER_OPERATOR = 'You receive this message as an operator of the Accredit platform.';

/**
 * The plain-text mail for an event, or undefined when the event is not mailed. Only what the event says goes
 * in (names, serials, thumbprints, dates): never key material or tokens.
 */
export function notificationMail(
  event: PlatformEvent,
  context: { organisationName?: string | undefined; toOperators: boolean },
): NotificationMail | undefined {
  const d = event.data;
  const org = clean(context.organisationName ?? d.organisation_name ?? event.orgId ?? 'your organisation');
  const footer = `${context.toOperators ? FOOTER_OPERATOR : FOOTER_CONTACT(org)}\nEvent ${event.id} (${event.type}, ${event.occurredAt}).`;
  switch (event.type) {
    case 'certificate.expiring': {
      if (event.subject.kind === 'ca_certificate') {
        const level = event.subject.ca_kind === 'root' ? 'Root' : 'Issuing';
        return {
          subject: `[Accredit] ${level} CA certificate ${clean(d.subject, 80)} expires ${inDays(d.days_left)}`,
          body: [
            `The platform's ${level.toLowerCase()} CA certificate expires on ${clean(d.not_after)} (${inDays(d.days_left)}).`,
            '',
            `Subject: ${clean(d.subject, 200)}`,
            `Serial: ${clean(d.serial)}`,
            '',
            'Every partner certificate it issued stops verifying when it expires: plan the CA rollover now.',
            '',
            footer,
          ].join('\n'),
        };
      }
      const app = clean(d.application_name ?? event.clientId);
      return {
        subject: `[Accredit] Certificate ${shortId(d.serial ?? event.subject.id)} for ${app} expires ${inDays(d.days_left)}`,
        body: [
          `The transport certificate of application "${app}" (client_id ${clean(event.clientId)}) of ${org} expires on ${clean(d.not_after)} (${inDays(d.days_left)}).`,
          '',
          `Serial: ${clean(d.serial ?? event.subject.id)}`,
          `SHA-256 thumbprint (x5t#S256): ${clean(event.subject.x5t_s256)}`,
          '',
          'Request a new certificate from a fresh CSR before then and deploy it; calls made with an expired',
          'certificate are refused.',
          '',
          footer,
        ].join('\n'),
      };
    }
    case 'key.expiring': {
      const name = KEY_NAMES[clean(d.purpose)] ?? 'Signing key';
      return {
        subject: `[Accredit] ${name} ${shortId(event.subject.id)} is due for rotation ${inDays(d.days_left)}`,
        body: [
          `${name} ${clean(event.subject.id)} reaches its maximum age of ${clean(d.max_age_days)} days on ${clean(d.not_after)} (${inDays(d.days_left)}).`,
          '',
          'Rotate it (a new key is published next to the old one, which keeps verifying what it signed).',
          '',
          footer,
        ].join('\n'),
      };
    }
    case 'certificate.revoked':
      return {
        subject: `[Accredit] Certificate ${shortId(d.serial ?? event.subject.id)} of client ${clean(event.clientId, 60)} was revoked`,
        body: [
          `The transport certificate ${clean(d.serial ?? event.subject.id)} of client_id ${clean(event.clientId)} of ${org} was revoked (reason: ${clean(d.reason ?? 'unspecified')}).`,
          '',
          `SHA-256 thumbprint (x5t#S256): ${clean(event.subject.x5t_s256)}`,
          'Calls made with it are refused from now on.',
          '',
          footer,
        ].join('\n'),
      };
    case 'organisation.suspended':
      return {
        subject: `[Accredit] ${org} was suspended`,
        body: [
          `${org} was suspended on ${clean(event.occurredAt)}: its applications, certificates and tokens are refused`,
          'until an operator activates it again.',
          '',
          footer,
        ].join('\n'),
      };
    default:
      return undefined;
  }
}
