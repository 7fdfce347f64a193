import type { FastifyReply, FastifyRequest } from 'fastify';
import { ENDPOINT_PARAMETERS, JWT_TYPES, MEDIA_TYPES } from '../../constants.ts';
import type { EntityStatementClaims } from '../../entity-statement.ts';
import { epochSeconds, type FederationAuthority } from '../authority.ts';
import { sendJwt } from './send-jwt.ts';

/**
 * The platform's own Entity Configuration (§3, §9): iss = sub = its Entity Identifier, the Federation Entity
 * Keys it currently publishes, and federation_entity metadata naming every endpoint it serves (§5.1.1).
 */
export async function buildEntityConfiguration(
  authority: FederationAuthority,
): Promise<EntityStatementClaims> {
  const now = authority.clock();
  const iat = epochSeconds(now);
  const federationEntity: Record<string, unknown> = {};
  for (const endpoint of authority.endpoints) {
    federationEntity[ENDPOINT_PARAMETERS[endpoint]] = authority.urls[endpoint];
  }
  const claims: EntityStatementClaims = {
    iss: authority.entityId,
    sub: authority.entityId,
    iat,
    exp: iat + authority.statementLifetimeSeconds,
    jwks: await authority.keys.publishedJwks(now),
    metadata: { ...authority.additionalMetadata, federation_entity: federationEntity },
  };
  // §3.1.2: REQUIRED when the entity has a Superior, MUST NOT be empty, absent for a Trust Anchor.
  if (authority.authorityHints.length > 0) claims.authority_hints = [...authority.authorityHints];
  // §3.1.2, §7: the Trust Mark types the platform issues, with itself as the accredited issuer.
  if (authority.trustMarkTypes.length > 0) {
    claims.trust_mark_issuers = Object.fromEntries(
      authority.trustMarkTypes.map((t) => [t.type, [authority.entityId]]),
    );
  }
  return claims;
}

export function createEntityConfigurationHandler(authority: FederationAuthority) {
  return async function entityConfiguration(_request: FastifyRequest, reply: FastifyReply) {
    const claims = await buildEntityConfiguration(authority);
    const signer = await authority.keys.signer();
    // §9.2: 200 with application/entity-statement+jwt.
    return sendJwt(reply, MEDIA_TYPES.entityStatement, await signer.sign(claims, JWT_TYPES.entityStatement));
  };
}
