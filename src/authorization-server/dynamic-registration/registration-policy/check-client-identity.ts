import { AUTH_METHODS } from '../../../directory/index.ts';
import { CLIENT_SIGNING_ALGS } from '../../routes.ts';
import { type Draft, metadataFinding } from './draft.ts';

/**
 * The client belongs to the organisation of its authority and, with a statement, to the statement's software;
 * neither is the request's to choose. Without a statement nothing vouches for a software_id (RFC 7591 §2.3).
 */
export function checkIdentity(d: Draft): void {
  const { software_id: softwareId, org_id: orgId } = d.request;
  if (softwareId !== undefined && softwareId !== d.statement?.softwareId) {
    metadataFinding(
      d,
      'software_id',
      d.statement
        ? 'must be the software statement’s software_id'
        : 'only a software statement from the directory names the software',
      d.statement ? 'RFC 7591 §3.1.1' : 'RFC 7591 §2.3',
    );
  }
  if (orgId !== undefined && orgId !== d.context.orgId) {
    metadataFinding(
      d,
      'org_id',
      `a client belongs to the organisation of ${d.authority}; it cannot be set or changed`,
      'RFC 7591 §3.1.1',
    );
  }
}

/** The statement's name for people; without a statement the request's, a printable string when given. */
export function checkClientName(d: Draft): void {
  if (d.statement) {
    d.clientName = d.statement.clientName;
    return;
  }
  const value = d.request.client_name;
  if (value === undefined) return;
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > 200) {
    metadataFinding(d, 'client_name', 'must be a string of 1 to 200 characters', 'RFC 7591 §2');
    return;
  }
  d.clientName = value;
}

/**
 * Keys or certificates only (no shared secrets), and the method the statement was issued for. Without a
 * statement the request names one: RFC 7591 §2's default (client_secret_basic) is not offered here.
 */
export function checkAuthMethod(d: Draft): void {
  const value = d.request.token_endpoint_auth_method ?? d.statement?.tokenEndpointAuthMethod;
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
  if (d.statement && value !== d.statement.tokenEndpointAuthMethod) {
    metadataFinding(
      d,
      'token_endpoint_auth_method',
      `must be the software statement’s (${d.statement.tokenEndpointAuthMethod})`,
      'RFC 7591 §3.1.1',
    );
  }
}

/**
 * Every access token here is bound: to the client's certificate (RFC 8705 §3.4), or — for a client registered with
 * dpop_bound_access_tokens (RFC 9449 §5.2), which then always presents a DPoP proof — to its DPoP key. Unbound
 * tokens are never an option.
 */
export function checkBoundTokens(d: Draft): void {
  // RFC 9449 §5.2: a boolean; true holds every token request of the client to a DPoP proof.
  const dpop = d.request.dpop_bound_access_tokens;
  if (dpop !== undefined && typeof dpop !== 'boolean') {
    metadataFinding(d, 'dpop_bound_access_tokens', 'must be true or false', 'RFC 9449 §5.2');
  } else if (dpop === true) {
    d.dpopBound = true;
  }
  const value = d.request.tls_client_certificate_bound_access_tokens;
  const allowed = d.dpopBound ? [undefined, true, false] : [undefined, true];
  if (!allowed.includes(value as boolean | undefined)) {
    metadataFinding(
      d,
      'tls_client_certificate_bound_access_tokens',
      d.dpopBound
        ? 'must be true or false'
        : 'every access token here is certificate-bound (or DPoP-bound with dpop_bound_access_tokens)',
      'RFC 8705 §3.4',
    );
  }
}

/** RFC 7591 §2: a client assertion algorithm, asymmetric and one this server verifies. */
export function checkSigningAlg(d: Draft): void {
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
