import type { FastifyReply, FastifyRequest } from 'fastify';
import { JWT_TYPES, MEDIA_TYPES } from '../../constants.ts';
import { epochSeconds, type FederationAuthority } from '../authority.ts';
import { sendJwt } from './send-jwt.ts';

/**
 * §8.7: every Federation Entity Key that no longer signs, each with iat, exp and, when revoked,
 * revoked {revoked_at, reason}, as a signed JWK Set (typ jwk-set+jwt). exp is added to the JWT so that
 * verifiers which require it (ours do) accept the response.
 */
export function createHistoricalKeysHandler(authority: FederationAuthority) {
  return async function historicalKeys(_request: FastifyRequest, reply: FastifyReply) {
    const iat = epochSeconds(authority.clock());
    const claims = {
      iss: authority.entityId,
      iat,
      exp: iat + authority.statementLifetimeSeconds,
      keys: await authority.keys.historicalKeys(),
    };
    const signer = await authority.keys.signer();
    return sendJwt(reply, MEDIA_TYPES.jwkSet, await signer.sign(claims, JWT_TYPES.jwkSet));
  };
}
