/**
 * Signs what the platform sends about its events (webhook JWS, Security Event Tokens) with the platform's
 * published event keys (`/events/jwks`). Implemented by the composition root, which holds the KEK.
 */
export interface EventSigner {
  kid: string;
  alg: string;
  /** A compact JWS of `payload` with the given `typ` header (e.g. `secevent+jwt`) and this key's kid/alg. */
  sign(payload: Record<string, unknown>, typ: string): Promise<string>;
}

export const EVENTS_JWKS_PATH = '/events/jwks';
