import { readFileSync, statSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { MailTransport } from '../audit/index.ts';
import { ConfigError, type NotificationsConfig } from './config.ts';

/** The SMTP password: the file named by notifications.smtp.passwordFile, else ACCREDIT_SMTP_PASSWORD. */
function smtpPassword(smtp: NotificationsConfig['smtp'], env: NodeJS.ProcessEnv): string | undefined {
  if (smtp.passwordFile !== undefined) {
    const mode = statSync(smtp.passwordFile).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new ConfigError(
        `notifications.smtp.passwordFile: ${smtp.passwordFile} permissions ${mode.toString(8)} are too open; run chmod 600 ${smtp.passwordFile}`,
      );
    }
    const text = readFileSync(smtp.passwordFile, 'utf8').replace(/\r?\n$/, '');
    if (text.length === 0)
      throw new ConfigError(`notifications.smtp.passwordFile: ${smtp.passwordFile} is empty`);
    return text;
  }
  const fromEnv = env.ACCREDIT_SMTP_PASSWORD;
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/**
 * An SMTP transport (nodemailer) for notification mail, or undefined when no SMTP host is configured.
 * STARTTLS is required, never opportunistic (RFC 3207 §4: a client that needs TLS refuses to go on without
 * it); certificates are verified (system roots plus notifications.smtp.caFile); mail content never reads files
 * or URLs. Timeouts stay well under the outbox claim (10 min), so a claim never lapses during a send.
 */
export function createSmtpTransport(
  notifications: NotificationsConfig,
  env: NodeJS.ProcessEnv = process.env,
): MailTransport | undefined {
  const smtp = notifications.smtp;
  if (smtp.host === undefined) return undefined;
  const pass = smtpPassword(smtp, env);
  if (pass !== undefined && smtp.user === undefined) {
    throw new ConfigError('notifications.smtp.user: a password is set but no user');
  }
  if (pass !== undefined && smtp.security === 'none') {
    throw new ConfigError('ACCREDIT_SMTP_PASSWORD: credentials are never sent without TLS (security none)');
  }
  const transporter = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.security === 'tls',
    requireTLS: smtp.security === 'starttls',
    ignoreTLS: smtp.security === 'none',
    ...(smtp.user !== undefined
      ? { auth: { user: smtp.user, ...(pass !== undefined ? { pass } : {}) } }
      : {}),
    tls: {
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      ...(smtp.caFile !== undefined ? { ca: readFileSync(smtp.caFile, 'utf8') } : {}),
    },
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });
  return {
    async send(message) {
      await transporter.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: message.messageId,
      });
    },
  };
}
