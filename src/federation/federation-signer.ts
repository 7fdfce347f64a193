import type { KeyObject } from 'node:crypto';
import { type JWTPayload, SignJWT } from 'jose';

/** Signs federation JWTs with one key; `kid` goes into every header (OpenID Federation 1.0 §3.1). */
export interface FederationSigner {
  readonly kid: string;
  readonly alg: string;
  sign(payload: JWTPayload, typ: string): Promise<string>;
}

export function createFederationSigner(privateKey: KeyObject, kid: string, alg: string): FederationSigner {
  return {
    kid,
    alg,
    sign: (payload, typ) => new SignJWT(payload).setProtectedHeader({ alg, kid, typ }).sign(privateKey),
  };
}
