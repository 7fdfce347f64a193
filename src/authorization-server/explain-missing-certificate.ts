import type { KoaContextWithOIDC } from 'oidc-provider';

// oidc-provider's detail when a client whose tokens are certificate-bound presents no certificate; it shows only
// its generic "grant request is invalid" to the client.
const NO_CERTIFICATE = 'mutual TLS client certificate not provided';
// Its detail when a client registered with dpop_bound_access_tokens (RFC 9449 §5.2) sends no DPoP proof.
const NO_DPOP_PROOF = 'DPoP proof JWT not provided';

/**
 * RFC 8705 §3: every access token here is bound to the client's certificate, so a token request without one
 * (a private_key_jwt client on the public listener, say) cannot succeed. The error stays `invalid_grant`, as
 * oidc-provider raises it for every grant it cannot bind (refresh tokens included); its description now says
 * what is missing and where to send the request. A `grant.error` listener: the body is set, not yet sent.
 */
export function explainMissingCertificate(ctx: KoaContextWithOIDC, err: Error): void {
  const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
  const detail = (err as { error_detail?: unknown }).error_detail;
  if (body?.error !== 'invalid_grant') return;
  if (detail === NO_DPOP_PROOF) {
    body.error_description =
      'a DPoP proof is required: this client is registered with dpop_bound_access_tokens (RFC 9449 §5.2)';
    return;
  }
  if (detail !== NO_CERTIFICATE) return;
  body.error_description =
    'a client certificate is required: access tokens are bound to the certificate presented at the token ' +
    'endpoint (RFC 8705 §3); use the endpoint in mtls_endpoint_aliases with the client’s certificate, or ' +
    'bind the token to a key with a DPoP proof (RFC 9449)';
}
