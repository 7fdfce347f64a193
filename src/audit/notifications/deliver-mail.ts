import type { Storage } from '../../storage/index.ts';
import { claimMail, dueMail, markMailFailed, markMailSent } from './mail-outbox.ts';

export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  /** Stable per outbox row, so a receiver can tell a resent copy (crash after the SMTP server accepted it). */
  messageId: string;
}

/** Sends one message; rejects with an error carrying `responseCode` (SMTP reply) when the server said no. */
export interface MailTransport {
  send(message: MailMessage): Promise<void>;
}

export interface DeliverMailOptions {
  storage: Storage;
  transport: MailTransport;
  from: string;
  now: Date;
  /** Attempts before a mail is given up as `failed` (default 8). */
  maxAttempts?: number;
  /** How long a claim holds before another sender may take the mail again (default 10 minutes). */
  claimMs?: number;
  /** Rows per pass (default 50). */
  batch?: number;
  /** SMTP conversations at once (default 4): each is mostly waiting for the server. */
  concurrency?: number;
}

export interface DeliverMailResult {
  sent: number;
  retried: number;
  failed: number;
}

const BASE_BACKOFF_MS = 60_000;
const MAX_BACKOFF_MS = 6 * 3_600_000;

/** 1, 2, 4 … minutes after the nth failed attempt, at most 6 hours. */
export function mailBackoffMs(attempts: number): number {
  return Math.min(BASE_BACKOFF_MS * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS);
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).replace(/[>\s]/g, '');

/** An SMTP 5xx reply is permanent (RFC 5321 §4.2.1): trying again would be refused the same way. */
const isPermanent = (err: unknown) => {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
};

const describe = (err: unknown) => {
  const e = err as { code?: unknown; responseCode?: unknown; message?: unknown };
  const parts = [e.code, e.responseCode, e.message].filter((p) => p !== undefined && p !== '');
  return parts.join(' ') || 'send failed';
};

/**
 * Sends the mail due at `now`. Order per row: claim (committed) → SMTP → mark sent (committed). A crash
 * before the SMTP server accepts leaves a claim that lapses and is retried; only a crash between the server's
 * acceptance and the commit of `sent` sends the mail again (SMTP has no idempotency; the Message-ID is the same).
 */
export async function deliverDueMail(options: DeliverMailOptions): Promise<DeliverMailResult> {
  const { storage, transport, now } = options;
  const maxAttempts = options.maxAttempts ?? 8;
  const claimMs = options.claimMs ?? 10 * 60_000;
  const result: DeliverMailResult = { sent: 0, retried: 0, failed: 0 };
  const rows = await dueMail(storage.db, now, options.batch ?? 50);
  const deliver = async (row: (typeof rows)[number]) => {
    if (!(await claimMail(storage, row, new Date(now.getTime() + claimMs)))) return;
    const attempts = row.attempts + 1;
    try {
      await transport.send({
        from: options.from,
        to: row.recipient,
        subject: row.subject,
        text: row.body,
        messageId: `<${row.id}@${domainOf(options.from) || 'accredit.invalid'}>`,
      });
    } catch (err) {
      const giveUp = isPermanent(err) || attempts >= maxAttempts;
      const retryAt = giveUp ? undefined : new Date(now.getTime() + mailBackoffMs(attempts));
      await markMailFailed(storage, row.id, describe(err), retryAt);
      if (giveUp) result.failed++;
      else result.retried++;
      return;
    }
    await markMailSent(storage, row.id, now);
    result.sent++;
  };
  let next = 0;
  const worker = async () => {
    while (next < rows.length) await deliver(rows[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return result;
}
