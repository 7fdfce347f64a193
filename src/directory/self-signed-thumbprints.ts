import { createHash } from 'node:crypto';

const SELF_SIGNED = 'self_signed_tls_client_auth';

function thumbprintOfBase64Der(b64: unknown): string | undefined {
  if (typeof b64 !== 'string' || b64.length === 0) return undefined;
  // RFC 7517 §4.7: x5c entries are standard base64 (not base64url) DER.
  const der = Buffer.from(b64, 'base64');
  return der.length > 0 ? createHash('sha256').update(der).digest('base64url') : undefined;
}

/** RFC 8705 §2.2: the self-signed certificates are the first x5c entry of each key in the client's jwks. */
export function selfSignedThumbprints(authMethod: string, metadata: Record<string, unknown>): string[] {
  if (authMethod !== SELF_SIGNED) return [];
  const keys = (metadata as { jwks?: { keys?: unknown } }).jwks?.keys;
  if (!Array.isArray(keys)) return [];
  const out: string[] = [];
  for (const key of keys) {
    const x5c = (key as { x5c?: unknown } | null)?.x5c;
    const x5t = Array.isArray(x5c) ? thumbprintOfBase64Der(x5c[0]) : undefined;
    if (x5t) out.push(x5t);
  }
  return out;
}
