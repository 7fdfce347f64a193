/** oidc-provider's endpoint paths, fixed here so the federation metadata and the middleware name the same ones. */
export const AS_ROUTES = {
  authorization: '/auth',
  pushed_authorization_request: '/request',
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  jwks: '/jwks',
} as const;

/** Signature algorithms of client assertions and Request Objects: asymmetric only (no shared secrets). */
export const CLIENT_SIGNING_ALGS = ['ES256', 'ES384', 'PS256', 'EdDSA'] as const;
