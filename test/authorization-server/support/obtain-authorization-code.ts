/**
 * Obtains an authorization code the way a FAPI 2.0 client does: the pushed request's `request_uri` is sent to
 * the authorization endpoint, the end user logs in and consents through the authorization server's real
 * interaction pages, and the code comes back on the redirect (with RFC 9207 `iss`).
 *
 * This branch has no end-user login: oidc-provider's interactions land on `/interaction/unavailable`. The
 * login and consent pages are built separately; once they are merged, complete this function by driving
 * them over HTTP (GET the interaction, POST the login form with a test account, POST consent, follow the
 * redirects back to the authorization endpoint) and return the callback's parameters. Never fake a login
 * (no direct Grant/AuthorizationCode writes): the negatives that use this function test the real flow.
 */
export interface AuthorizationResponse {
  /** The redirect's query parameters: `code`, `state`, `iss` (RFC 9207), or `error`. */
  params: URLSearchParams;
}

export interface ObtainAuthorizationCodeInput {
  baseUrl: string;
  clientId: string;
  requestUri: string;
  /** A dispatcher (undici Agent) trusting the server's CA. */
  dispatcher: unknown;
}

export async function obtainAuthorizationCode(
  _input: ObtainAuthorizationCodeInput,
): Promise<AuthorizationResponse> {
  throw new Error(
    'obtainAuthorizationCode needs the end-user login and consent pages (h/login); wire it after merging them',
  );
}
