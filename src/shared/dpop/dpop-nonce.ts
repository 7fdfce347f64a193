import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Server-provided DPoP nonces (RFC 9449 §8, §9) without state: a nonce is the time window it was made in and a
 * MAC of that window under a secret every node shares, so any node accepts any node's nonce, and a nonce is
 * accepted in its own window and the next (it rotates every `windowSeconds`, and lives 1–2 windows).
 */
export interface DpopNonces {
  /** The nonce to hand out now. */
  current(nowMs: number): string;
  /** Whether `nonce` was made by a node sharing the secret, in this window or the previous one. */
  isValid(nonce: string, nowMs: number): boolean;
}

const MAC_BYTES = 16;

export function createDpopNonces(options: { secret: Buffer; windowSeconds?: number }): DpopNonces {
  if (options.secret.length < 32) throw new Error('the DPoP nonce secret must be at least 32 bytes');
  const windowMs = (options.windowSeconds ?? 300) * 1000;
  const mac = (window: number) =>
    createHmac('sha256', options.secret).update(`dpop-nonce:${window}`).digest().subarray(0, MAC_BYTES);
  const make = (window: number) => {
    const head = Buffer.alloc(8);
    head.writeBigUInt64BE(BigInt(window));
    return Buffer.concat([head, mac(window)]).toString('base64url');
  };
  let cached: { window: number; nonce: string } | undefined;
  return {
    current(nowMs) {
      const window = Math.floor(nowMs / windowMs);
      if (cached?.window !== window) cached = { window, nonce: make(window) };
      return cached.nonce;
    },
    isValid(nonce, nowMs) {
      if (typeof nonce !== 'string' || nonce.length > 64) return false;
      const raw = Buffer.from(nonce, 'base64url');
      if (raw.length !== 8 + MAC_BYTES || raw.toString('base64url') !== nonce) return false;
      const window = Number(raw.readBigUInt64BE(0));
      const now = Math.floor(nowMs / windowMs);
      if (window !== now && window !== now - 1) return false;
      return timingSafeEqual(raw.subarray(8), mac(window));
    },
  };
}
