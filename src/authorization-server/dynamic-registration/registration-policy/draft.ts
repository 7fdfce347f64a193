import type { InitialAccessTokenGrant } from '../check-initial-access-token.ts';
import type { PolicyContext } from '../policy-context.ts';
import type { RegistrationFinding } from '../registration-error.ts';
import type { SoftwareStatement } from '../verify-software-statement.ts';

/** What a registration (or update) leaves on the client record when the policy passes. */
export interface RegisteredClient {
  authMethod: string;
  roles: string[];
  scopes: string[];
  /** The application's metadata: the registered client metadata, the statement it rests on included. */
  metadata: Record<string, unknown>;
  /** The statement's client_name, else the request's; undefined: none given. */
  clientName: string | undefined;
}

export type PolicyResult =
  | { ok: true; client: RegisteredClient }
  | { ok: false; findings: RegistrationFinding[] };

/**
 * The registration being built: the request, what it is checked against, the findings so far. `statement` is
 * undefined when an initial access token alone is the authority: then only the token's organisation and roles
 * bound the client, besides the rules every client is held to.
 */
export interface Draft {
  request: Record<string, unknown>;
  statement: SoftwareStatement | undefined;
  initialAccessToken: InitialAccessTokenGrant | undefined;
  /** `the software statement` or `the initial access token`, for findings. */
  authority: string;
  context: PolicyContext;
  findings: RegistrationFinding[];
  clientName: string | undefined;
  authMethod: string;
  grantTypes: string[];
  redirectUris: string[];
  jwks: unknown;
  jwksUri: string | undefined;
  subjectDn: string | undefined;
  /** Bring your own CA: the one RFC 8705 §2.1.2 value and the organisation's CA it must come from. */
  externalSubject?: { property: string; value: unknown; caId: string };
  signingAlg: string | undefined;
  /** The FAPI 2.0 profile the client is registered with (`fapi_profile`, fapi/check-fapi-registration.ts). */
  fapiProfile?: '2.0' | 'off';
  /** RFC 9449 §5.2 dpop_bound_access_tokens: every token request must carry a DPoP proof. */
  dpopBound?: boolean;
  roles: string[];
  scopes: string[];
}

export const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');
export const words = (scope: string) => scope.split(' ').filter(Boolean);

export function metadataFinding(d: Draft, field: string, reason: string, spec: string): void {
  d.findings.push({ field, code: 'invalid_client_metadata', reason, spec });
}
export function redirectFinding(d: Draft, field: string, reason: string, spec: string): void {
  d.findings.push({ field, code: 'invalid_redirect_uri', reason, spec });
}
