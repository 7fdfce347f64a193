import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
const VERSION = 'v1';

/** AES-256-GCM key for webhook secrets at rest, derived from the KEK (HKDF-SHA256, RFC 5869). */
function boxKey(kek: string): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, 'accredit', 'webhook signing secrets v1', 32));
}

/**
 * A Standard Webhooks signing secret: `whsec_` and the base64 of 32 random bytes (the specification asks for
 * 24 to 64). Shown to the operator once; stored sealed, since an HMAC secret cannot be kept as a hash.
 */
export function newWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key a `whsec_` secret stands for (the base64 after the prefix). */
export function hmacKeyOf(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error('not a whsec_ secret');
  return Buffer.from(secret.slice(PREFIX.length), 'base64');
}

/** Seals a secret for storage; `context` (the subscription id) is bound as additional data. */
export function sealSecret(secret: string, kek: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', boxKey(kek), iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [VERSION, iv, ct, cipher.getAuthTag()]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/** Opens a sealed secret; throws when the KEK or the context differs or the value was altered. */
export function openSecret(sealed: string, kek: string, context: string): string {
  const [version, iv, ct, tag] = sealed.split('.');
  if (version !== VERSION || !iv || ct === undefined || !tag) throw new Error('unknown sealed secret format');
  const decipher = createDecipheriv('aes-256-gcm', boxKey(kek), Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}
