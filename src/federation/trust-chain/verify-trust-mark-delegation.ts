import type { JSONWebKeySet } from 'jose';
import { JWT_TYPES } from '../constants.ts';
import { decodeFederationJwt, StatementError } from '../entity-statement.ts';
import type { ChainFinding } from '../types.ts';
import { finding } from './finding.ts';
import type { VerificationMemo } from './signature-cache.ts';
import { verifySignature } from './verify-signature.ts';

export interface DelegationContext {
  /** The Trust Mark's issuer and type. */
  issuer: string;
  trustMarkType: string;
  /** The owner as the Trust Anchor's `trust_mark_owners` names it (§3.1.2). */
  owner: { sub: string; jwks: JSONWebKeySet };
  nowSeconds: number;
  clockSkewSeconds: number;
  signatureMemo?: VerificationMemo | undefined;
}

const STEP: Record<string, string> = {
  malformed: '§7.2.2 step 1',
  unsupported_typ: '§7.2.2 step 2',
  unsupported_alg: '§7.2.2 step 3',
  missing_kid: '§7.2.1',
  unknown_kid: '§7.2.2 step 9',
  bad_signature: '§7.2.2 step 9',
};

/** Validates a Trust Mark delegation JWT (§7.2.2); returns the first failed step as a finding, or undefined. */
export async function verifyTrustMarkDelegation(
  jwt: unknown,
  ctx: DelegationContext,
): Promise<ChainFinding | undefined> {
  const fail = (step: string, message: string) =>
    finding(step, 'trust_mark_delegation_invalid', `delegation: ${message}`, ctx.issuer);
  if (typeof jwt !== 'string') return fail('§7.2.2 step 1', 'not a JWT');
  try {
    const { header, payload } = decodeFederationJwt<Record<string, unknown>>(
      jwt,
      JWT_TYPES.trustMarkDelegation,
    );
    if (payload.sub !== ctx.issuer) return fail('§7.2.2 step 4', 'sub is not the Trust Mark Issuer');
    if (payload.iss !== ctx.owner.sub) return fail('§7.2.2 step 5', 'iss is not the Trust Mark Owner');
    const { iat, exp } = payload;
    if (typeof iat !== 'number' || iat > ctx.nowSeconds + ctx.clockSkewSeconds) {
      return fail('§7.2.2 step 6', 'iat is missing or in the future');
    }
    if (exp !== undefined && (typeof exp !== 'number' || exp <= ctx.nowSeconds - ctx.clockSkewSeconds)) {
      return fail('§7.2.2 step 7', 'has expired');
    }
    if (payload.trust_mark_type !== ctx.trustMarkType)
      return fail('§7.2.2 step 8', 'trust_mark_type differs');
    await verifySignature(jwt, ctx.owner.jwks, header.kid, ctx.signatureMemo);
    return undefined;
  } catch (err) {
    if (err instanceof StatementError) return fail(STEP[err.code] ?? '§7.2.2', err.message);
    return fail('§7.2.2 step 1', 'could not be processed');
  }
}
