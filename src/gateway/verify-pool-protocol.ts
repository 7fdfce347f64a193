import type { JWTPayload } from 'jose';

/** jose's verification options as the pool's threads apply them (currentDate is per token). */
export interface PoolVerifyOptions {
  issuer: string;
  audience: string;
  algorithms: string[];
  typ: string;
  clockTolerance: number;
  requiredClaims: string[];
}

export type PoolRequest =
  | { kind: 'configure'; options: PoolVerifyOptions }
  | { kind: 'jwks'; jwks: unknown }
  | { kind: 'verify'; batch: number; tokens: string[]; nowMs: number[] };

/** jose's failure, as facts: the owning thread maps them exactly as it maps its own jose errors. */
export interface PoolError {
  code: string;
  claim?: string;
  reason?: string;
}

export type VerifyOutcome = { payload: JWTPayload } | { error: PoolError };

export interface PoolResponse {
  batch: number;
  outcomes: VerifyOutcome[];
}
