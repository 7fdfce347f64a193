export {
  type DeliverMailOptions,
  type DeliverMailResult,
  deliverDueMail,
  type MailMessage,
  type MailTransport,
  mailBackoffMs,
} from './deliver-mail.ts';
export { listMailOutbox, listMailOutboxPage } from './mail-outbox.ts';
export { MAILED_EVENT_TYPES, type NotificationMail, notificationMail } from './notification-mail.ts';
export { MAIL_CONSUMER, type NotificationRecipients, queueNotifications } from './queue-notifications.ts';
