import type { AuthorizationServer } from './create-authorization-server.ts';

/**
 * The authorization server's `openid_provider` metadata for the platform's Entity Configuration (OpenID
 * Federation 1.0 §5.1.3): the discovery document it serves, member for member, plus what only federation
 * has — both registration types (§12.1 automatic, §12.2 explicit) and the explicit registration endpoint.
 */
export async function openIdProviderMetadata(
  as: Pick<AuthorizationServer, 'discoveryMetadata'>,
  options: { federationRegistrationEndpoint: string },
): Promise<Record<string, unknown>> {
  return {
    ...(await as.discoveryMetadata()),
    client_registration_types_supported: ['automatic', 'explicit'],
    federation_registration_endpoint: options.federationRegistrationEndpoint,
  };
}
