import { createECDH, createPrivateKey, hkdfSync, type KeyObject } from 'node:crypto';

/**
 * The web console as a first-party client of this authorization server (issue 15). It is NOT a partner
 * application: it lives in no directory table, never reaches the gateway and is configured here, statically,
 * the same on every node. It authenticates at the token endpoint with `private_key_jwt` (the platform keeps no
 * shared client secrets): its P-256 key is derived from the KEK (HKDF), so every node signs with the same key
 * and nothing is written anywhere. Authorization code + PKCE (S256) only, redirect URI the console's callback.
 * Consent is skipped for this client alone (the operator's own console); signing in is still required.
 */
export const CONSOLE_CLIENT_ID = 'accredit-console';
export const CONSOLE_CALLBACK_PATH = '/console/auth/callback';
export const CONSOLE_CLIENT_ALG = 'ES256';

// The order of the P-256 group: a derived scalar must lie in [1, n-1].
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** The console client's private key (ES256), derived from the KEK. */
export function consoleClientKey(kek: string): KeyObject {
  for (let i = 0; ; i += 1) {
    const d = Buffer.from(hkdfSync('sha256', kek, 'accredit', `console client key v1/${i}`, 32));
    const scalar = BigInt(`0x${d.toString('hex')}`);
    if (scalar === 0n || scalar >= P256_ORDER) continue; // probability ~2^-32: derive the next candidate
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(d);
    const point = ecdh.getPublicKey(); // 0x04 || x || y
    return createPrivateKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        d: d.toString('base64url'),
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33, 65).toString('base64url'),
      },
      format: 'jwk',
    });
  }
}

/** oidc-provider's static client metadata for the console (public key only). */
export function consoleClientMetadata(issuer: string, kek: string): Record<string, unknown> {
  const { kty, crv, x, y } = consoleClientKey(kek).export({ format: 'jwk' });
  return {
    client_id: CONSOLE_CLIENT_ID,
    client_name: 'Accredit console',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${issuer.replace(/\/+$/, '')}${CONSOLE_CALLBACK_PATH}`],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: CONSOLE_CLIENT_ALG,
    jwks: { keys: [{ kty, crv, x, y, use: 'sig', alg: CONSOLE_CLIENT_ALG }] },
    scope: 'openid',
    // Not sender-constrained: the tokens never leave the console's server (it only reads the ID token).
    tls_client_certificate_bound_access_tokens: false,
  };
}
