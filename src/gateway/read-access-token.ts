import { dpopRefusal } from './check-dpop.ts';
import { GATEWAY_REASONS, GatewayError, invalidDpop, invalidToken } from './gateway-error.ts';
import type { RouteDpop } from './match-route.ts';

export interface PresentedToken {
  raw: string;
  /** `Authorization: DPoP` (RFC 9449 §7.1) on an operation that accepts DPoP; false for Bearer. */
  dpop: boolean;
}

// RFC 6750 §2.1 b64token, checked before a token is verified (a cached token passed it already);
// tokens longer than the limit are not ours and are not worth parsing.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 8192;

/** RFC 6750 §2.1: the token68 syntax a Bearer credential must have. */
export function assertB64Token(token: string): void {
  if (!B64TOKEN.test(token))
    throw invalidToken(GATEWAY_REASONS.tokenMalformed, 'the access token is malformed');
}

/** RFC 6750 §2.3 query-parameter tokens end up in logs and caches: refused, never read. */
export function rejectTokenInQuery(query: string): void {
  if (query.length < 2 || !query.includes('token')) return;
  const params = new URLSearchParams(query);
  if (params.has('access_token')) {
    throw new GatewayError(
      GATEWAY_REASONS.tokenInQuery,
      400,
      'access tokens are accepted only in the Authorization header',
      { challenge: 'invalid_request' },
    );
  }
}

/**
 * Step 2a: the token from `Authorization: Bearer` (RFC 6750 §2.1) or `Authorization: DPoP` (RFC 9449 §7.1),
 * the only place it is read from. The DPoP scheme is taken only where the operation's policy accepts it
 * (`undefined`: no operation matched, so none does) and the door can check the proof's `htu`.
 */
export function readAccessToken(
  authorization: string | undefined,
  dpop: RouteDpop | undefined,
  dpopVerifiable = true,
): PresentedToken {
  if (authorization === undefined || authorization === '') {
    // RFC 6750 §3.1: no credentials offered, so the challenge carries no error code.
    throw new GatewayError(GATEWAY_REASONS.tokenMissing, 401, 'an access token is required', {
      challenge: 'none',
    });
  }
  const space = authorization.indexOf(' ');
  const scheme = space === -1 ? authorization : authorization.slice(0, space);
  // RFC 9110 §11.1: the auth-scheme is case-insensitive.
  const lower = scheme.toLowerCase();
  const isDpop = lower === 'dpop';
  if (isDpop) {
    if (dpop !== 'accepted' && dpop !== 'required') throw dpopRefusal();
    if (!dpopVerifiable) {
      throw invalidDpop(
        GATEWAY_REASONS.dpopUnsupported,
        'this door has no external URL configured to check DPoP proofs against',
        'invalid_token',
      );
    }
  } else if (lower === 'bearer' && dpop === 'required') {
    // The operation admits DPoP-bound tokens only: a Bearer token is told which scheme to use (RFC 9449 §7.1).
    throw invalidDpop(
      GATEWAY_REASONS.dpopRequired,
      'this operation requires a DPoP-bound token and proof',
      'invalid_token',
    );
  } else if (lower !== 'bearer') {
    throw new GatewayError(
      GATEWAY_REASONS.tokenMissing,
      401,
      'the Authorization scheme must be Bearer or DPoP',
      {
        challenge: 'invalid_request',
      },
    );
  }
  const token = space === -1 ? '' : authorization.slice(space + 1).trim();
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw isDpop
      ? invalidDpop(GATEWAY_REASONS.tokenMalformed, 'the access token is malformed', 'invalid_token')
      : invalidToken(GATEWAY_REASONS.tokenMalformed, 'the access token is malformed');
  }
  return { raw: token, dpop: isDpop };
}
