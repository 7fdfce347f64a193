import { createHash } from 'node:crypto';

/** RFC 8705 §3.1: x5t#S256 is the base64url SHA-256 of the DER certificate, without padding. */
export function x5tS256(der: Uint8Array | Buffer): string {
  return createHash('sha256').update(der).digest('base64url');
}
