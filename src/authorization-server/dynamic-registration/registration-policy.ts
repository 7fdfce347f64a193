import { calculateJwkThumbprint, type JWK } from 'jose';
import { AUTH_METHODS, lintClientJwks } from '../../directory/index.ts';
import { CLIENT_SIGNING_ALGS } from '../routes.ts';
import type { PolicyContext } from './policy-context.ts';
import type { RegistrationFinding } from './registration-error.ts';
import type { SoftwareStatement } from './verify-software-statement.ts';

/** What a registration (or update) leaves on the client record when the policy passes. */
export interface RegisteredClient {
  authMethod: string;
  roles: string[];
  scopes: string[];
  /** The application's metadata: the registered client metadata, the statement it rests on included. */
  metadata: Record<string, unknown>;
}

export type PolicyResult =
  | { ok: true; client: RegisteredClient }
  | { ok: false; findings: RegistrationFinding[] };

/** Grant types this server offers a registered client (no refresh tokens, no implicit, no device flow). */
const SUPPORTED_GRANT_TYPES = ['client_credentials', 'authorization_code'] as const;
// RFC 8705 §2.1.2 names four SAN alternatives; this server pins the exact subject of a certificate it issued.
const UNSUPPORTED_SUBJECT_FIELDS = [
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
] as const;

interface Draft {
  request: Record<string, unknown>;
  statement: SoftwareStatement;
  context: PolicyContext;
  findings: RegistrationFinding[];
  authMethod: string;
  grantTypes: string[];
  redirectUris: string[];
  jwks: unknown;
  jwksUri: string | undefined;
  subjectDn: string | undefined;
  signingAlg: string | undefined;
  roles: string[];
  scopes: string[];
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');
const words = (scope: string) => scope.split(' ').filter(Boolean);

function metadataFinding(d: Draft, field: string, reason: string, spec: string): void {
  d.findings.push({ field, code: 'invalid_client_metadata', reason, spec });
}
function redirectFinding(d: Draft, field: string, reason: string, spec: string): void {
  d.findings.push({ field, code: 'invalid_redirect_uri', reason, spec });
}

/** The client belongs to the statement's software and organisation; neither is the request's to choose. */
function checkIdentity(d: Draft): void {
  const { software_id: softwareId, org_id: orgId } = d.request;
  if (softwareId !== undefined && softwareId !== d.statement.softwareId) {
    metadataFinding(d, 'software_id', 'must be the software statement’s software_id', 'RFC 7591 §3.1.1');
  }
  if (orgId !== undefined && orgId !== d.statement.orgId) {
    metadataFinding(
      d,
      'org_id',
      'a client belongs to the organisation of its software statement; it cannot be set or changed',
      'RFC 7591 §3.1.1',
    );
  }
}

/** Keys or certificates only (no shared secrets), and the method the statement was issued for. */
function checkAuthMethod(d: Draft): void {
  const value = d.request.token_endpoint_auth_method ?? d.statement.tokenEndpointAuthMethod;
  if (typeof value !== 'string' || !(AUTH_METHODS as readonly string[]).includes(value)) {
    metadataFinding(
      d,
      'token_endpoint_auth_method',
      `must be one of ${AUTH_METHODS.join(', ')}`,
      'RFC 7591 §2',
    );
    return;
  }
  d.authMethod = value;
  if (value !== d.statement.tokenEndpointAuthMethod) {
    metadataFinding(
      d,
      'token_endpoint_auth_method',
      `must be the software statement’s (${d.statement.tokenEndpointAuthMethod})`,
      'RFC 7591 §3.1.1',
    );
  }
}

/** Grant types this server supports, all among the statement's; response types consistent with them (§2.1). */
function checkGrantTypes(d: Draft): void {
  const value = d.request.grant_types ?? d.statement.grantTypes;
  if (!isStringArray(value) || value.length === 0) {
    metadataFinding(d, 'grant_types', 'must be a non-empty array of grant types', 'RFC 7591 §2');
    return;
  }
  const grants = [...new Set(value)];
  for (const grant of grants) {
    if (!(SUPPORTED_GRANT_TYPES as readonly string[]).includes(grant)) {
      metadataFinding(d, 'grant_types', `${grant} is not supported`, 'RFC 7591 §2');
    } else if (!d.statement.grantTypes.includes(grant)) {
      metadataFinding(
        d,
        'grant_types',
        `${grant} is not among the software statement’s grant types`,
        'RFC 7591 §3.1.1',
      );
    }
  }
  d.grantTypes = grants.filter((g) => (SUPPORTED_GRANT_TYPES as readonly string[]).includes(g));
  const responseTypes = d.request.response_types;
  if (responseTypes === undefined) return;
  const code = d.grantTypes.includes('authorization_code');
  if (!isStringArray(responseTypes) || responseTypes.some((t) => t !== 'code')) {
    metadataFinding(d, 'response_types', 'only the code response type is supported', 'RFC 7591 §2');
  } else if (responseTypes.includes('code') !== code) {
    metadataFinding(
      d,
      'response_types',
      'code goes with the authorization_code grant type and only with it',
      'RFC 7591 §2.1',
    );
  }
}

/**
 * Every redirection URI https, without a fragment, and exactly (string equality, no pattern) one of the
 * statement's; the authorization code grant needs at least one.
 */
function checkRedirectUris(d: Draft): void {
  const requested = d.request.redirect_uris;
  const value = requested ?? d.statement.redirectUris ?? [];
  if (!isStringArray(value)) {
    redirectFinding(d, 'redirect_uris', 'must be an array of URLs', 'RFC 7591 §2');
    return;
  }
  const allowed = new Set(d.statement.redirectUris ?? []);
  value.forEach((uri, i) => {
    const field = `redirect_uris[${i}]`;
    if (!URL.canParse(uri)) {
      redirectFinding(d, field, 'is not an absolute URL', 'RFC 6749 §3.1.2');
      return;
    }
    const url = new URL(uri);
    if (url.protocol !== 'https:') redirectFinding(d, field, 'must be an https URL', 'RFC 6749 §3.1.2.1');
    if (url.hash !== '' || uri.includes('#')) {
      redirectFinding(d, field, 'must not contain a fragment', 'RFC 6749 §3.1.2');
    }
    if (!allowed.has(uri)) {
      redirectFinding(d, field, 'is not one of the software statement’s redirect_uris', 'RFC 7591 §3.1.1');
    }
  });
  if (d.grantTypes.includes('authorization_code')) {
    if (value.length === 0) {
      redirectFinding(d, 'redirect_uris', 'the authorization_code grant needs at least one', 'RFC 7591 §2');
    }
    d.redirectUris = [...new Set(value)];
  }
}

async function thumbprints(jwks: unknown): Promise<Set<string>> {
  const keys = (jwks as { keys?: unknown } | undefined)?.keys;
  const out = new Set<string>();
  if (!Array.isArray(keys)) return out;
  for (const key of keys) {
    try {
      out.add(await calculateJwkThumbprint(key as JWK, 'sha256'));
    } catch {
      // Not a usable JWK: lintClientJwks reports it.
    }
  }
  return out;
}

/**
 * The client's keys: the statement's jwks_uri exactly, or keys of its jwks (a subset narrows, an unknown key
 * widens), each public and of an acceptable type and strength; and keys wherever the method needs them.
 */
async function checkKeys(d: Draft): Promise<void> {
  const { jwks, jwks_uri: jwksUri } = d.request;
  if (jwks !== undefined && jwksUri !== undefined) {
    metadataFinding(d, 'jwks', 'jwks and jwks_uri must not both be present', 'RFC 7591 §2');
  }
  if (jwksUri !== undefined) {
    if (d.statement.jwksUri === undefined) {
      metadataFinding(d, 'jwks_uri', 'the software statement names no jwks_uri', 'RFC 7591 §3.1.1');
    } else if (jwksUri !== d.statement.jwksUri) {
      metadataFinding(d, 'jwks_uri', 'must be the software statement’s jwks_uri', 'RFC 7591 §3.1.1');
    }
    d.jwksUri = typeof jwksUri === 'string' ? jwksUri : undefined;
  }
  if (jwks !== undefined) {
    if (d.statement.jwks === undefined) {
      metadataFinding(d, 'jwks', 'the software statement carries no jwks', 'RFC 7591 §3.1.1');
    } else {
      const attested = await thumbprints(d.statement.jwks);
      const keys = (jwks as { keys?: unknown }).keys;
      if (Array.isArray(keys)) {
        for (const [i, key] of keys.entries()) {
          const [print] = await thumbprints({ keys: [key] });
          if (print !== undefined && !attested.has(print)) {
            metadataFinding(
              d,
              `jwks.keys[${i}]`,
              'is not one of the software statement’s keys',
              'RFC 7591 §3.1.1',
            );
          }
        }
      }
    }
    d.jwks = jwks;
  }
  if (jwks === undefined && jwksUri === undefined) {
    d.jwks = d.statement.jwks;
    d.jwksUri = d.statement.jwksUri;
    if (d.jwks !== undefined && d.jwksUri !== undefined) {
      metadataFinding(d, 'jwks', 'the software statement carries both jwks and jwks_uri', 'RFC 7591 §2');
    }
  }
  // The statement's keys are linted too: this server does not take the issuer's word for key strength.
  if (d.jwks !== undefined) {
    for (const f of lintClientJwks(d.jwks))
      metadataFinding(d, f.field, f.message, 'RFC 7517 §4, RFC 7518 §6');
  }
  if (d.jwksUri !== undefined && (!URL.canParse(d.jwksUri) || new URL(d.jwksUri).protocol !== 'https:')) {
    metadataFinding(d, 'jwks_uri', 'must be an https URL', 'RFC 7591 §2');
  }
  if (d.authMethod === 'private_key_jwt' && d.jwks === undefined && d.jwksUri === undefined) {
    metadataFinding(
      d,
      'jwks',
      'private_key_jwt needs the client’s public keys (jwks or jwks_uri)',
      'RFC 7523 §2.2',
    );
  }
  if (d.authMethod === 'self_signed_tls_client_auth' && d.jwks === undefined) {
    metadataFinding(
      d,
      'jwks',
      'self_signed_tls_client_auth needs its certificate inline in jwks (x5c)',
      'RFC 8705 §2.2',
    );
  }
}

/**
 * tls_client_auth: the exact subject of an active certificate the platform issued to the client's own
 * organisation, and the one the statement names; never a pattern, never another organisation's certificate.
 */
function checkSubject(d: Draft): void {
  for (const field of UNSUPPORTED_SUBJECT_FIELDS) {
    if (d.request[field] !== undefined) {
      metadataFinding(d, field, 'not supported: use tls_client_auth_subject_dn', 'RFC 8705 §2.1.2');
    }
  }
  const requested = d.request.tls_client_auth_subject_dn;
  if (d.authMethod !== 'tls_client_auth') {
    if (requested !== undefined) {
      metadataFinding(d, 'tls_client_auth_subject_dn', 'only applies to tls_client_auth', 'RFC 8705 §2.1.2');
    }
    return;
  }
  const value = requested ?? d.statement.tlsClientAuthSubjectDn;
  if (typeof value !== 'string' || value.length === 0) {
    metadataFinding(
      d,
      'tls_client_auth_subject_dn',
      'tls_client_auth needs the certificate subject',
      'RFC 8705 §2.1.2',
    );
    return;
  }
  if (d.statement.tlsClientAuthSubjectDn !== undefined && value !== d.statement.tlsClientAuthSubjectDn) {
    metadataFinding(
      d,
      'tls_client_auth_subject_dn',
      'must be the certificate subject the software statement names',
      'RFC 7591 §3.1.1',
    );
  }
  if (!d.context.certificateSubjects.has(value)) {
    metadataFinding(
      d,
      'tls_client_auth_subject_dn',
      `is not the subject of an active certificate the platform issued to organisation ${d.context.orgId}`,
      'RFC 8705 §2.1',
    );
  }
  d.subjectDn = value;
}

/**
 * Roles: the statement's the organisation is still approved for, narrowed by requested roles and by a
 * requested scope (a role stays when it grants a requested scope); scopes: what those roles grant within the
 * statement's scope, narrowed to the request's. Never a role or scope beyond the statement.
 */
function checkRolesAndScope(d: Draft): void {
  const { roles: requestedRoles, scope: requestedScope } = d.request;
  let roles = [...d.context.approvedRoles];
  if (requestedRoles !== undefined) {
    if (!isStringArray(requestedRoles)) {
      metadataFinding(d, 'roles', 'must be an array of role names', 'RFC 7591 §2');
    } else {
      for (const role of new Set(requestedRoles)) {
        if (!d.statement.roles.includes(role)) {
          metadataFinding(
            d,
            'roles',
            `${role} is not among the software statement’s roles`,
            'RFC 7591 §3.1.1',
          );
        } else if (!d.context.approvedRoles.includes(role)) {
          metadataFinding(
            d,
            'roles',
            `${role} is no longer approved for organisation ${d.context.orgId}`,
            'RFC 7591 §3.1.1',
          );
        }
      }
      roles = roles.filter((r) => requestedRoles.includes(r));
    }
  }
  const scopesOf = (role: string) => d.context.roleScopes.get(role) ?? [];
  const statementScopes = new Set(
    d.statement.scope !== undefined ? words(d.statement.scope) : d.context.approvedRoles.flatMap(scopesOf),
  );
  const grantable = (rs: readonly string[]) =>
    new Set(rs.flatMap(scopesOf).filter((s) => statementScopes.has(s)));
  let scopes = [...grantable(roles)];
  if (requestedScope !== undefined) {
    if (typeof requestedScope !== 'string') {
      metadataFinding(d, 'scope', 'must be a space-separated string', 'RFC 7591 §2');
    } else {
      const wanted = [...new Set(words(requestedScope))];
      const granted = grantable(roles);
      for (const scope of wanted) {
        if (!statementScopes.has(scope)) {
          metadataFinding(d, 'scope', `${scope} is not granted by the software statement`, 'RFC 7591 §3.1.1');
        } else if (!granted.has(scope)) {
          metadataFinding(d, 'scope', `${scope} is not granted by the client’s roles`, 'RFC 7591 §2');
        }
      }
      roles = roles.filter((r) => scopesOf(r).some((s) => wanted.includes(s)));
      scopes = wanted.filter((s) => granted.has(s));
    }
  }
  if (roles.length === 0 || scopes.length === 0) {
    metadataFinding(d, 'scope', 'no role and scope of the software statement would be left', 'RFC 7591 §2');
  }
  d.roles = roles.sort();
  d.scopes = scopes.sort();
}

/** RFC 8705 §3.4: this server binds every access token to the client's certificate. */
function checkBoundTokens(d: Draft): void {
  const value = d.request.tls_client_certificate_bound_access_tokens;
  if (value !== undefined && value !== true) {
    metadataFinding(
      d,
      'tls_client_certificate_bound_access_tokens',
      'every access token here is certificate-bound',
      'RFC 8705 §3.4',
    );
  }
}

/** RFC 7591 §2: a client assertion algorithm, asymmetric and one this server verifies. */
function checkSigningAlg(d: Draft): void {
  const value = d.request.token_endpoint_auth_signing_alg;
  if (value === undefined) return;
  if (typeof value !== 'string' || !(CLIENT_SIGNING_ALGS as readonly string[]).includes(value)) {
    metadataFinding(
      d,
      'token_endpoint_auth_signing_alg',
      `must be one of ${CLIENT_SIGNING_ALGS.join(', ')}`,
      'RFC 7591 §2',
    );
    return;
  }
  d.signingAlg = value;
}

const RULES: ReadonlyArray<(d: Draft) => void | Promise<void>> = [
  checkIdentity,
  checkAuthMethod,
  checkGrantTypes,
  checkRedirectUris,
  checkKeys,
  checkSubject,
  checkRolesAndScope,
  checkBoundTokens,
  checkSigningAlg,
];

/**
 * The registration policy (RFC 7591 §2, §3.1.1), for a registration and for an update (RFC 7592 §2.2) alike:
 * every rule runs and every finding is returned. The statement bounds the client — a request may narrow its
 * values (fewer redirection URIs, grant types, keys, roles or scopes) but never widen or replace them — and
 * fills in whatever the request leaves out (RFC 7592 §2.2 lets the server ignore empty values). That is how
 * statement values take precedence over plain JSON ones here (RFC 7591 §3.1.1): a conflicting wider value is
 * refused rather than silently overridden. Metadata this server does not understand is ignored (§2).
 */
export async function evaluateRegistrationPolicy(
  request: Record<string, unknown>,
  statement: SoftwareStatement,
  context: PolicyContext,
): Promise<PolicyResult> {
  const d: Draft = {
    request,
    statement,
    context,
    findings: [],
    authMethod: statement.tokenEndpointAuthMethod,
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
    software_id: statement.softwareId,
    software_statement: statement.jwt,
    client_name: statement.clientName,
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
  if (d.signingAlg !== undefined) metadata.token_endpoint_auth_signing_alg = d.signingAlg;
  return { ok: true, client: { authMethod: d.authMethod, roles: d.roles, scopes: d.scopes, metadata } };
}
