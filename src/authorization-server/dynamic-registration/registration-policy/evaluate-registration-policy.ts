import { checkFapiProfile } from '../../fapi/check-fapi-registration.ts';
import type { PolicyContext } from '../policy-context.ts';
import { authorityName, type RegistrationAuthority } from '../registration-authority.ts';
import {
  checkAuthMethod,
  checkBoundTokens,
  checkClientName,
  checkIdentity,
  checkSigningAlg,
} from './check-client-identity.ts';
import { checkGrantTypes, checkRedirectUris } from './check-grants.ts';
import { checkKeys } from './check-keys.ts';
import { checkRolesAndScope } from './check-roles-and-scope.ts';
import { checkSubject } from './check-subject.ts';
import type { Draft, PolicyResult } from './draft.ts';

const RULES: ReadonlyArray<(d: Draft) => void | Promise<void>> = [
  checkIdentity,
  checkClientName,
  checkAuthMethod,
  checkGrantTypes,
  checkRedirectUris,
  checkKeys,
  checkSubject,
  checkRolesAndScope,
  checkBoundTokens,
  checkSigningAlg,
  checkFapiProfile,
];

/**
 * The registration policy (RFC 7591 §2, §3.1.1), for a registration and for an update (RFC 7592 §2.2) alike:
 * every rule runs and every finding is returned. The statement bounds the client — a request may narrow its
 * values (fewer redirection URIs, grant types, keys, roles or scopes) but never widen or replace them — and
 * fills in whatever the request leaves out (RFC 7592 §2.2 lets the server ignore empty values). That is how
 * statement values take precedence over plain JSON ones here (RFC 7591 §3.1.1): a conflicting wider value is
 * refused rather than silently overridden. An initial access token (RFC 7591 §3) bounds the organisation and
 * roles; without a statement the request supplies the rest, held to the same rules every client is (methods,
 * https redirection URIs, key strength, the exact subject of one of the organisation's certificates).
 * Metadata this server does not understand is ignored (§2).
 */
export async function evaluateRegistrationPolicy(
  request: Record<string, unknown>,
  authority: RegistrationAuthority,
  context: PolicyContext,
): Promise<PolicyResult> {
  const { statement } = authority;
  const d: Draft = {
    request,
    statement,
    initialAccessToken: authority.initialAccessToken,
    authority: authorityName(authority),
    context,
    findings: [],
    clientName: undefined,
    authMethod: statement?.tokenEndpointAuthMethod ?? '',
    grantTypes: [],
    redirectUris: [],
    jwks: undefined,
    jwksUri: undefined,
    subjectDn: undefined,
    signingAlg: undefined,
    roles: [],
    scopes: [],
  };
  for (const rule of RULES) await rule(d);
  if (d.findings.length > 0) return { ok: false, findings: d.findings };
  const metadata: Record<string, unknown> = {
    ...(statement ? { software_id: statement.softwareId, software_statement: statement.jwt } : {}),
    ...(d.clientName !== undefined ? { client_name: d.clientName } : {}),
    grant_types: d.grantTypes,
    scope: d.scopes.join(' '),
  };
  if (d.grantTypes.includes('authorization_code')) {
    metadata.response_types = ['code'];
    metadata.redirect_uris = d.redirectUris;
  }
  if (d.jwks !== undefined) metadata.jwks = d.jwks;
  if (d.jwksUri !== undefined) metadata.jwks_uri = d.jwksUri;
  if (d.subjectDn !== undefined) metadata.tls_client_auth_subject_dn = d.subjectDn;
  if (d.externalSubject !== undefined) {
    metadata[d.externalSubject.property] = d.externalSubject.value;
    metadata.tls_client_auth_ca_id = d.externalSubject.caId;
  }
  if (d.signingAlg !== undefined) metadata.token_endpoint_auth_signing_alg = d.signingAlg;
  if (d.fapiProfile !== undefined) metadata.fapi_profile = d.fapiProfile;
  if (d.dpopBound) metadata.dpop_bound_access_tokens = true;
  return {
    ok: true,
    client: {
      authMethod: d.authMethod,
      roles: d.roles,
      scopes: d.scopes,
      metadata,
      clientName: d.clientName,
    },
  };
}
