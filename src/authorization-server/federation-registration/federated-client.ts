import { AUTH_METHODS } from '../../directory/index.ts';
import { FederationError } from '../../federation/index.ts';

/** What the directory record of a federation client is made of, from its resolved RP metadata (§12.2.2 step 8). */
export interface FederatedClient {
  authMethod: (typeof AUTH_METHODS)[number];
  name: string;
  /** Stored with the application: the keys the client authenticates (and binds tokens) with. */
  metadata: Record<string, unknown>;
}

const badMetadata = (message: string, field: string) =>
  new FederationError('invalid_client_metadata', 400, message, { field });

function nameOf(entityId: string, rp: Record<string, unknown>): string {
  const name = rp.client_name;
  if (typeof name === 'string' && name.trim().length > 0 && name.trim().length <= 64) return name.trim();
  // The directory needs a short human name; the host of the Entity Identifier is one.
  return new URL(entityId).host.slice(0, 64);
}

/**
 * The client the platform is willing to register from Resolved Metadata. Only key- or certificate-based
 * authentication (no shared secrets) and the client credentials grant, which is all this authorization
 * server offers; anything else is refused with invalid_client_metadata rather than silently changed.
 */
export function federatedClientFrom(entityId: string, rp: unknown): FederatedClient {
  if (typeof rp !== 'object' || rp === null || Array.isArray(rp)) {
    throw new FederationError(
      'invalid_metadata',
      400,
      'the resolved metadata has no openid_relying_party entry (§12.2.1)',
      { field: 'metadata.openid_relying_party' },
    );
  }
  const md = rp as Record<string, unknown>;
  const method = md.token_endpoint_auth_method;
  if (typeof method !== 'string' || !(AUTH_METHODS as readonly string[]).includes(method)) {
    throw badMetadata(
      `token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')} (no shared secrets)`,
      'token_endpoint_auth_method',
    );
  }
  const grants = md.grant_types;
  if (grants !== undefined && (!Array.isArray(grants) || !grants.includes('client_credentials'))) {
    throw badMetadata(
      'grant_types must include client_credentials, the grant this server offers',
      'grant_types',
    );
  }
  const metadata: Record<string, unknown> = {};
  if (md.jwks !== undefined) metadata.jwks = md.jwks;
  if (md.jwks_uri !== undefined) metadata.jwks_uri = md.jwks_uri;
  if (md.jwks === undefined && md.jwks_uri === undefined && md.signed_jwks_uri !== undefined) {
    throw badMetadata('signed_jwks_uri is not supported: publish jwks or jwks_uri', 'signed_jwks_uri');
  }
  return { authMethod: method as FederatedClient['authMethod'], name: nameOf(entityId, md), metadata };
}
