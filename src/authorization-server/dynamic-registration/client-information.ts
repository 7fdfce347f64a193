import type { ApplicationView } from '../../directory/index.ts';

export const REGISTRATION_PATH = '/register';

/** RFC 7592 §1: the client configuration endpoint of one client, on the mTLS listener like the registration endpoint. */
export const registrationClientUri = (mtlsUrl: string, clientId: string) =>
  `${mtlsUrl}${REGISTRATION_PATH}/${encodeURIComponent(clientId)}`;

const REGISTERED_FIELDS = [
  'grant_types',
  'response_types',
  'redirect_uris',
  'jwks',
  'jwks_uri',
  'tls_client_auth_subject_dn',
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
  'tls_client_auth_ca_id',
  'token_endpoint_auth_signing_alg',
  'dpop_bound_access_tokens',
  'software_id',
  'software_statement',
  'fapi_profile',
] as const;

/**
 * The client information response (RFC 7591 §3.2.1, RFC 7592 §3): every registered metadata value, the
 * ones this server provisioned included (client_id, its organisation and roles, the scope they grant, bound
 * tokens), the software statement unmodified, the configuration endpoint and the registration access token
 * just issued (every response issues one: only its hash is stored, so none can be repeated).
 */
export function clientInformation(
  app: ApplicationView,
  registration: { created_at: string },
  options: { mtlsUrl: string; registrationAccessToken: string },
): Record<string, unknown> {
  const scope = typeof app.metadata.scope === 'string' ? app.metadata.scope.split(' ') : app.scopes;
  const body: Record<string, unknown> = {
    client_id: app.client_id,
    client_id_issued_at: Math.floor(Date.parse(registration.created_at) / 1000),
    registration_access_token: options.registrationAccessToken,
    registration_client_uri: registrationClientUri(options.mtlsUrl, app.client_id),
    client_name: app.name,
    token_endpoint_auth_method: app.auth_method,
    scope: scope.filter((s) => app.scopes.includes(s)).join(' '),
    // RFC 8705 §3.4: every access token this server issues is bound to the client's certificate — or, for a
    // client registered with dpop_bound_access_tokens (RFC 9449 §5.2), to its DPoP key.
    tls_client_certificate_bound_access_tokens: app.metadata.dpop_bound_access_tokens !== true,
    org_id: app.org_id,
    roles: app.roles,
  };
  for (const field of REGISTERED_FIELDS) {
    if (app.metadata[field] !== undefined) body[field] = app.metadata[field];
  }
  return body;
}
