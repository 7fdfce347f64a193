import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface SunkMessage {
  from: string;
  to: string[];
  raw: string;
  /** The decoded Subject header (ASCII subjects only are sent by the tests; RFC 2047 words are joined). */
  subject: string;
  messageId: string;
}

/** A local SMTP server (plain, loopback, no AUTH) that keeps every message it accepts. */
export class SmtpSink {
  readonly messages: SunkMessage[] = [];
  /** Recipients answered with 550 (a permanent refusal, RFC 5321 §4.2.2). */
  readonly refuse = new Set<string>();
  #server: SMTPServer;
  port = 0;

  constructor() {
    this.#server = new SMTPServer({
      secure: false,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      disableReverseLookup: true,
      onRcptTo: (address, _session, callback) => {
        if (this.refuse.has(address.address)) {
          const err = new Error('mailbox unavailable') as Error & { responseCode: number };
          err.responseCode = 550;
          return callback(err);
        }
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const header = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
          const unfolded = header.replace(/\r?\n[ \t]+/g, ' ');
          const field = (name: string) =>
            new RegExp(`^${name}: (.*)$`, 'im').exec(unfolded)?.[1]?.trim() ?? '';
          this.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            subject: decodeWords(field('Subject')),
            messageId: field('Message-ID'),
          });
          callback();
        });
      },
    });
    // A client that hangs up mid-conversation is the test's business, not an unhandled error.
    this.#server.on('error', () => {});
  }

  /** Listens on 127.0.0.1 (`port` 0: any free port) and resolves with the port. */
  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.#server.server.address() as AddressInfo).port;
    return this.port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

// RFC 2047 encoded words (nodemailer encodes the "…" in subjects): =?UTF-8?Q?…?= or =?UTF-8?B?…?=.
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
            'latin1',
          ).toString('utf8'),
    );
}
