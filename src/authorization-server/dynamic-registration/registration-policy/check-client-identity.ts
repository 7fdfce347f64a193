import { AUTH_METHODS } from '../../../directory/index.ts';
import { CLIENT_SIGNING_ALGS } from '../../routes.ts';
import { type Draft, metadataFinding } from './draft.ts';

/** The client belongs to the statement's software and organisation; neither is the request's to choose. */
export function checkIdentity(d: Draft): void {
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
export function checkAuthMethod(d: Draft): void {
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

/** RFC 8705 §3.4: this server binds every access token to the client's certificate. */
export function checkBoundTokens(d: Draft): void {
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
