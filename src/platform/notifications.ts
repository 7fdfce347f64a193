import type { Logger } from 'pino';
import {
  deliverDueMail,
  type MailTransport,
  type NotificationRecipients,
  type PlatformEvents,
  queueNotifications,
} from '../audit/index.ts';
import { getOrganisation } from '../directory/index.ts';
import { AppError } from '../shared/app-error.ts';
import type { Clock } from '../shared/clock.ts';
import { createCoalescingRunner } from '../shared/coalescing-runner.ts';
import type { Storage } from '../storage/index.ts';
import type { NotificationsConfig } from './config.ts';
import { createSmtpTransport } from './smtp-transport.ts';

export interface Notifications {
  /** Queues the mail of new events and sends what is due; resolves when done (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface NotificationsOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  events: PlatformEvents;
  config: NotificationsConfig;
  env?: NodeJS.ProcessEnv;
  /** Replaces SMTP (tests); default: nodemailer from config.smtp. */
  transport?: MailTransport;
  /** How often due retries are looked for when no event woke the notifier (default 30 s). */
  retryIntervalMs?: number;
}

/** The directory's answer to "who is told about this organisation": its name and `security` contacts. */
export function directoryRecipients(operators: readonly string[]): NotificationRecipients {
  return {
    operators,
    async organisation(db, orgId) {
      try {
        const org = await getOrganisation(db, orgId);
        return {
          name: org.name,
          securityContacts: org.contacts.filter((c) => c.kind === 'security').map((c) => c.email),
        };
      } catch (err) {
        if (err instanceof AppError && err.status === 404) return undefined;
        throw err;
      }
    },
  };
}

/**
 * Mails platform events to organisations' security contacts and operators: woken by new events, and by a
 * timer for retries. Off (undefined) unless notifications.smtp.host is set; its cursor then starts when it is.
 */
export function startNotifications(options: NotificationsOptions): Notifications | undefined {
  const { storage, clock, logger, config } = options;
  const transport = options.transport ?? createSmtpTransport(config, options.env);
  const from = config.smtp.from;
  if (!transport || from === undefined) return undefined;
  const recipients = directoryRecipients(config.operators);
  const runner = createCoalescingRunner(
    async () => {
      await queueNotifications(storage, recipients, clock());
      const result = await deliverDueMail({ storage, transport, from, now: clock() });
      if (result.retried + result.failed > 0) {
        logger.warn(result, 'notification mail not delivered; retried later or given up');
      }
    },
    {
      intervalMs: options.retryIntervalMs ?? 30_000,
      onError: (err) => logger.error({ err }, 'notification pass failed; retried on the next event'),
    },
  );
  const unsubscribe = options.events.onEvents(() => void runner.wake());
  void runner.wake();
  return {
    flush: () => runner.flush(),
    async close() {
      unsubscribe();
      await runner.close();
    },
  };
}
