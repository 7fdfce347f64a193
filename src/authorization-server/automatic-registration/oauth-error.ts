import { errors } from 'oidc-provider';
import type { FederationErrorCode } from '../../federation/index.ts';

/** Error codes automatic registration answers with: RFC 6749 §4.1.2.1 / §5.2, RFC 9101 §6.3, §8.9 of the spec. */
export type AutomaticRegistrationErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_request_object'
  | 'invalid_redirect_uri'
  | 'unauthorized_client'
  | 'invalid_trust_chain'
  | 'invalid_metadata'
  | 'invalid_client_metadata';

/**
 * An OAuth error response (RFC 6749 style `{ error, error_description }`) that oidc-provider renders as it
 * renders its own. Never redirected: until the client is registered its redirection URIs are not trusted
 * (§12.1.3). invalid_client is 401 as oidc-provider answers failed client authentication (RFC 6749 §5.2).
 */
export function oauthError(
  code: AutomaticRegistrationErrorCode | FederationErrorCode,
  description: string,
): errors.OIDCProviderError {
  const err = new errors.CustomOIDCProviderError(code, description);
  const status = code === 'invalid_client' ? 401 : 400;
  Object.assign(err, { status, statusCode: status, allow_redirect: false });
  return err;
}
