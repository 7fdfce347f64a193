import { createHmac } from 'node:crypto';
import type { EventSigner } from '../events/index.ts';
import { hmacKeyOf } from './secret-box.ts';

/** The `typ` of a JWS-signed webhook body (RFC 7515 §4.1.9; RFC 8725 §3.11: explicit typing). */
export const WEBHOOK_JWT_TYP = 'webhook+jwt';

/**
 * Standard Webhooks (https://www.standardwebhooks.com, "Signature scheme"): HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${body}` with the secret's bytes, sent as `v1,<base64>`; several
 * signatures (a secret rotation) are separated by spaces and a receiver accepts any one that verifies.
 */
export function standardWebhookSignature(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): string {
  return secrets
    .map(
      (secret) =>
        `v1,${createHmac('sha256', hmacKeyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`,
    )
    .join(' ');
}

/**
 * The JWS scheme: the body is a compact JWS (a JWT, `typ` webhook+jwt) signed with the platform's event key
 * (published at /events/jwks), whose claims are the event itself plus `iss` (the platform), `aud` (the
 * subscription URL: a body replayed to another receiver fails its audience check), `iat` and `jti` (the
 * event id, also sent as webhook-id).
 */
export function webhookJws(
  signer: EventSigner,
  payload: Record<string, unknown>,
  claims: { iss: string; aud: string; iat: number },
): Promise<string> {
  return signer.sign(
    { ...payload, iss: claims.iss, aud: claims.aud, iat: claims.iat, jti: payload.id },
    WEBHOOK_JWT_TYP,
  );
}
