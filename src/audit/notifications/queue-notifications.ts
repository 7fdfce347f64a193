import type { Storage, Tx } from '../../storage/index.ts';
import { consumeEvents, type PlatformEvent } from '../events/index.ts';
import { enqueueMail } from './mail-outbox.ts';
import { MAILED_EVENT_TYPES, notificationMail } from './notification-mail.ts';

export const MAIL_CONSUMER = 'mail:notifications';

/** Who is told: asked of the directory by the composition root, which may import it. */
export interface NotificationRecipients {
  /** The organisation's name and its `security` contacts' addresses; undefined when it does not exist. */
  organisation(
    db: Tx['db'],
    orgId: string,
  ): Promise<{ name: string; securityContacts: string[] } | undefined>;
  /** Operators' addresses: CA certificates and platform keys, and organisations without a security contact. */
  operators: readonly string[];
}

const isMailed = (type: string) => (MAILED_EVENT_TYPES as readonly string[]).includes(type);

const unique = (addresses: readonly string[]) => {
  const seen = new Map<string, string>();
  for (const a of addresses) if (!seen.has(a.toLowerCase())) seen.set(a.toLowerCase(), a);
  return [...seen.values()];
};

type Organisation = Awaited<ReturnType<NotificationRecipients['organisation']>>;

async function queueOne(
  tx: Tx,
  event: PlatformEvent,
  recipients: NotificationRecipients,
  now: Date,
  organisations: Map<string, Organisation>,
) {
  let org: Organisation;
  if (event.orgId) {
    // Asked once per organisation and batch: a thousand certificates of one partner cost one lookup.
    if (!organisations.has(event.orgId)) {
      organisations.set(event.orgId, await recipients.organisation(tx.db, event.orgId));
    }
    org = organisations.get(event.orgId);
  }
  const contacts = unique(org?.securityContacts ?? []);
  // An organisation's event goes to its security contacts; with none on record, operators are told instead.
  const toOperators = contacts.length === 0;
  const to = toOperators ? unique(recipients.operators) : contacts;
  const mail = notificationMail(event, { organisationName: org?.name, toOperators });
  if (!mail) return;
  for (const recipient of to) {
    await enqueueMail(
      tx,
      { eventId: event.id, eventType: event.type, recipient, subject: mail.subject, body: mail.body },
      now,
    );
  }
}

/**
 * Follows platform events with its own cursor and queues one outbox row per (event, recipient) in the same
 * transaction that moves the cursor: an event is queued exactly once, whatever crashes. Returns the events seen.
 */
export function queueNotifications(
  storage: Storage,
  recipients: NotificationRecipients,
  now: Date,
): Promise<number> {
  return consumeEvents(
    storage,
    MAIL_CONSUMER,
    async (tx, events) => {
      const organisations = new Map<string, Organisation>();
      for (const event of events) {
        if (isMailed(event.type)) await queueOne(tx, event, recipients, now, organisations);
      }
    },
    now,
  );
}
