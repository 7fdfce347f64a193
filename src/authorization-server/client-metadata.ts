import type { AdapterPayload } from 'oidc-provider';
import { certificateApplications, PUBLIC_AUTH_METHOD } from '../directory/index.ts';
import { TLS_CLIENT_AUTH_PROPERTIES } from '../pki/index.ts';
import type { Storage } from '../storage/index.ts';
import { ownFapiProfile } from './fapi/index.ts';
import { tokenEndpointCache } from './token-endpoint/directory-cache.ts';

const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;

/**
 * Client credentials for every client; a federation or dynamically registered client also the authorization
 * code grant with the response types and redirection URIs its registration gave it (kept by
 * federatedClientFrom or the registration policy to what this server supports and its statement allows).
 * A manual client has the code flow (and refresh tokens) when its metadata lists them, with the https
 * redirection URIs the directory validated (exact match, RFC 9700 §4.1).
 */
function grantsOf(
  registrationType: string,
  authMethod: string,
  metadata: Record<string, unknown>,
): Pick<AdapterPayload, 'grant_types' | 'response_types' | 'redirect_uris'> {
  const grantTypes = strings(metadata.grant_types);
  if (!grantTypes?.includes('authorization_code')) {
    if (authMethod === PUBLIC_AUTH_METHOD) return { grant_types: [], response_types: [], redirect_uris: [] };
    return { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] };
  }
  // A manually registered client may also refresh (issue 14); the registration paths keep their own policy.
  // RFC 6749 §4.4: never client credentials for a public client, whatever its stored metadata says.
  const allowed = new Set(
    authMethod === PUBLIC_AUTH_METHOD
      ? ['authorization_code', 'refresh_token']
      : registrationType === 'manual'
        ? ['authorization_code', 'client_credentials', 'refresh_token']
        : ['authorization_code', 'client_credentials'],
  );
  return {
    grant_types: grantTypes.filter((g) => allowed.has(g)),
    response_types: ['code'],
    redirect_uris: strings(metadata.redirect_uris) ?? [],
  };
}

/**
 * The oidc-provider view of a directory application. A client whose application or organisation is not
 * active does not exist for the authorization server (invalid_client), so suspension takes effect at once.
 */
export async function loadClientMetadata(
  storage: Storage,
  clientId: string,
  now: Date = new Date(),
): Promise<AdapterPayload | undefined> {
  // Application, organisation, certificate subject and role scopes: kept between requests while the change
  // feed is followed (token-endpoint/directory-cache.ts).
  const cache = tokenEndpointCache(storage);
  const app = await cache.applicationWithOrganisation(clientId);
  if (app?.status !== 'active' || app.org_status !== 'active') return undefined;
  if (app.registration_type === 'federation') {
    // §12.3: a federation registration is valid only until its chain's expiry, even between two re-evaluations.
    const registration = await storage.db
      .selectFrom('federation_registrations')
      .select(['status', 'expires_at'])
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    if (registration?.status !== 'active' || registration.expires_at <= now.toISOString()) return undefined;
  }
  const roles = await cache.applicationRoles(clientId, now);
  const metadata = JSON.parse(app.metadata) as Record<string, unknown>;
  let scopes = await cache.scopesForRoles(roles);
  // A dynamic registration may have narrowed its scope below what its roles grant (RFC 7591 §2 `scope`).
  if (app.registration_type === 'dynamic' && typeof metadata.scope === 'string') {
    const registered = new Set(metadata.scope.split(' '));
    scopes = scopes.filter((s) => registered.has(s));
  }
  const payload: AdapterPayload = {
    client_id: app.client_id,
    client_name: app.name,
    token_endpoint_auth_method: app.auth_method,
    ...grantsOf(app.registration_type, app.auth_method, metadata),
    scope: scopes.join(' '),
    // Every token is bound: to the client's certificate (RFC 8705 §3), or — for a client registered with
    // dpop_bound_access_tokens (RFC 9449 §5.2), which must always present a DPoP proof — to its DPoP key
    // (oidc-provider makes one of the two required at a time; see also withDpopBinding).
    // A public client (auth method none) has nothing but its DPoP key to bind to: always DPoP (RFC 9449 §5).
    ...(metadata.dpop_bound_access_tokens === true || app.auth_method === PUBLIC_AUTH_METHOD
      ? { tls_client_certificate_bound_access_tokens: false, dpop_bound_access_tokens: true }
      : { tls_client_certificate_bound_access_tokens: true }),
    org_id: app.org_id,
    roles,
    registration_type: app.registration_type,
    // The software whose platform certificates a dynamic client presents (token binding, see getCertificate).
    certificate_apps: certificateApplications(app.registration_type, metadata),
    ...ownFapiProfile(metadata),
  };
  const externalCa =
    typeof metadata.tls_client_auth_ca_id === 'string' ? metadata.tls_client_auth_ca_id : undefined;
  if (app.auth_method === 'tls_client_auth' && externalCa !== undefined) {
    // Bring your own CA: the one registered subject value (RFC 8705 §2.1.2), canonical since registration, and
    // the CA it must come from (certificateSubjectMatches).
    payload.tls_client_auth_ca_id = externalCa;
    for (const property of TLS_CLIENT_AUTH_PROPERTIES) {
      if (typeof metadata[property] === 'string') payload[property] = metadata[property];
    }
  } else if (app.auth_method === 'tls_client_auth') {
    // A dynamic client: the exact subject of its software's certificate, checked at registration against the
    // certificates the platform issued to the organisation; certificateSubjectMatches requires such a
    // certificate of the client's organisation with exactly this subject.
    const registered =
      app.registration_type === 'dynamic' && typeof metadata.tls_client_auth_subject_dn === 'string'
        ? metadata.tls_client_auth_subject_dn
        : undefined;
    // Otherwise the exact subject of the newest certificate the platform issued to this client (never a
    // pattern); certificateSubjectMatches additionally requires the presented certificate to be one of them.
    const subject = registered ? undefined : await cache.newestActiveSubject(clientId);
    payload.tls_client_auth_subject_dn = registered ?? subject ?? `CN=${app.client_id}`;
  }
  if (metadata.jwks !== undefined) payload.jwks = metadata.jwks as AdapterPayload['jwks'];
  if (typeof metadata.jwks_uri === 'string') payload.jwks_uri = metadata.jwks_uri;
  if (app.registration_type === 'dynamic' && typeof metadata.token_endpoint_auth_signing_alg === 'string') {
    payload.token_endpoint_auth_signing_alg =
      metadata.token_endpoint_auth_signing_alg as AdapterPayload['token_endpoint_auth_signing_alg'];
  }
  return payload;
}
