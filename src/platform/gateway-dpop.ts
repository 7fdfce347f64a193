import { hkdfSync } from 'node:crypto';
import type { GatewayOptions } from '../gateway/index.ts';
import type { ReplayCache } from '../shared/replay-cache/index.ts';

/**
 * The embedded gateway's DPoP settings (RFC 9449): the nonce secret is derived from the KEK (HKDF-SHA-256,
 * info "accredit dpop rs nonce"), so every node of one platform accepts every other's nonces and no secret is
 * stored. `replayCache`: the shared one (PostgreSQL/Redis) when the platform has it, so a proof used at one
 * node is refused at every other; without it, proofs are remembered in this process only (one node).
 */
export function gatewayDpop(input: { kek: string; replayCache?: ReplayCache }): GatewayOptions['dpop'] {
  const nonceSecret = Buffer.from(hkdfSync('sha256', input.kek, 'accredit', 'accredit dpop rs nonce', 32));
  return { nonceSecret, ...(input.replayCache !== undefined ? { replayCache: input.replayCache } : {}) };
}
