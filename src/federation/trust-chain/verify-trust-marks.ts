import type { JSONWebKeySet } from 'jose';
import { ENDPOINT_PARAMETERS, JWT_TYPES } from '../constants.ts';
import { decodeFederationJwt, type EntityStatementClaims } from '../entity-statement.ts';
import type { FederationFetcher } from '../fetch/federation-fetcher.ts';
import type { ChainFinding, VerifiedTrustMark } from '../types.ts';
import { checkTrustMarkStatus } from './check-trust-mark-status.ts';
import { finding, trustMarkFinding } from './finding.ts';
import type { VerificationMemo } from './signature-cache.ts';
import { verifySignature } from './verify-signature.ts';
import { verifyTrustMarkDelegation } from './verify-trust-mark-delegation.ts';

/** The Trust Mark Issuer's Entity Configuration once trust in it is established, or why it could not be. */
export type IssuerLookup = (
  issuer: string,
) => Promise<{ ok: true; configuration: EntityStatementClaims } | { ok: false; findings: ChainFinding[] }>;

export interface TrustMarkContext {
  /** The Entity Configuration holding the Trust Marks (the chain subject). */
  subject: EntityStatementClaims;
  /** The Trust Anchor's Entity Configuration: its `trust_mark_issuers` and `trust_mark_owners` decide. */
  anchorConfiguration: EntityStatementClaims;
  issuer: IssuerLookup;
  fetcher: FederationFetcher;
  /** Ask the issuer's Trust Mark Status endpoint when it publishes one (§8.4). */
  checkStatus: boolean;
  nowSeconds: number;
  clockSkewSeconds: number;
  /** Signatures already verified (Trust Marks and delegations are verified once per key, not once per use). */
  signatureMemo?: VerificationMemo | undefined;
}

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * One Trust Mark of the subject (§7.3): typ/alg/kid, `sub` is the subject, `iat`/`exp`, the issuer accepted by
 * the Trust Anchor (`trust_mark_issuers`, §3.1.2 and §7; an empty list means anyone), trust in the issuer
 * established by resolving its own chain to the same Trust Anchor (§7.3), the signature with the issuer's keys,
 * delegation when the Trust Anchor names an owner (§7.3 steps 8-9, §7.2.2), then its status (§8.4).
 */
async function verifyTrustMark(
  entry: { trust_mark_type: string; trust_mark: string },
  index: number,
  ctx: TrustMarkContext,
): Promise<VerifiedTrustMark | ChainFinding> {
  const what = `trust_marks[${index}] (${entry.trust_mark_type})`;
  const jwt = entry.trust_mark;
  let header: { kid: string };
  let payload: Record<string, unknown>;
  try {
    ({ header, payload } = decodeFederationJwt<Record<string, unknown>>(jwt, JWT_TYPES.trustMark));
  } catch (err) {
    return trustMarkFinding(err, what, ctx.subject.sub);
  }
  const { iss, sub, trust_mark_type: type, iat, exp } = payload;
  if (
    !isNonEmptyString(iss) ||
    !isNonEmptyString(sub) ||
    !isNonEmptyString(type) ||
    typeof iat !== 'number'
  ) {
    return finding(
      '§7.1',
      'trust_mark_missing_claim',
      `${what}: iss, sub, trust_mark_type and iat are required`,
      ctx.subject.sub,
    );
  }
  if (exp !== undefined && typeof exp !== 'number') {
    return finding('§7.1', 'trust_mark_invalid_claim', `${what}: exp must be a number`, iss);
  }
  if (type !== entry.trust_mark_type) {
    return finding(
      '§3.2 step 20',
      'trust_mark_type_mismatch',
      `${what}: trust_mark_type differs from the JWT's`,
      iss,
    );
  }
  if (sub !== ctx.subject.sub) {
    return finding(
      '§7.3 step 4',
      'trust_mark_wrong_subject',
      `${what}: sub is not the entity holding it`,
      iss,
    );
  }
  const { nowSeconds: now, clockSkewSeconds: skew } = ctx;
  if (iat > now + skew)
    return finding('§7.3 step 5', 'trust_mark_issued_in_future', `${what}: iat is in the future`, iss);
  if (exp !== undefined && exp <= now - skew) {
    return finding('§7.3 step 6', 'trust_mark_expired', `${what}: has expired`, iss);
  }

  // §3.1.2 trust_mark_issuers: the Trust Anchor lists who may issue each type; [] lets anyone issue it, and a type
  // the Trust Anchor does not list is not one the federation accepts (§7).
  const accepted = ctx.anchorConfiguration.trust_mark_issuers?.[type];
  if (accepted === undefined || (accepted.length > 0 && !accepted.includes(iss))) {
    return finding(
      '§7',
      'trust_mark_issuer_not_authorised',
      `${what}: the Trust Anchor does not accept ${iss} for this type`,
      iss,
    );
  }

  // §7.3: trust in the Trust Mark Issuer comes first, by resolving its chain to the same Trust Anchor (§10).
  const issuer = await ctx.issuer(iss);
  if (!issuer.ok) {
    const cause = issuer.findings[issuer.findings.length - 1]?.code ?? 'no_trust_chain';
    return finding(
      '§7.3',
      'trust_mark_issuer_untrusted',
      `${what}: no valid Trust Chain for the issuer (${cause})`,
      iss,
    );
  }
  try {
    await verifySignature(jwt, issuer.configuration.jwks as JSONWebKeySet, header.kid, ctx.signatureMemo);
  } catch (err) {
    return trustMarkFinding(err, what, iss);
  }

  const owner = ctx.anchorConfiguration.trust_mark_owners?.[type];
  if (owner !== undefined && payload.delegation === undefined) {
    return finding(
      '§7.3 step 8',
      'trust_mark_delegation_required',
      `${what}: the Trust Anchor names an owner; delegation is missing`,
      iss,
    );
  }
  if (payload.delegation !== undefined) {
    if (owner === undefined) {
      return finding(
        '§7.3 step 9',
        'trust_mark_delegation_invalid',
        `${what}: delegation without an owner known to the Trust Anchor`,
        iss,
      );
    }
    const failed = await verifyTrustMarkDelegation(payload.delegation, {
      issuer: iss,
      trustMarkType: type,
      owner,
      nowSeconds: now,
      clockSkewSeconds: skew,
      signatureMemo: ctx.signatureMemo,
    });
    if (failed) return { ...failed, message: `${what}: ${failed.message}` };
  }

  // §8.4: the status endpoint lives in the issuer's Entity Configuration itself, never in a superior's statement.
  const endpoint = issuer.configuration.metadata?.federation_entity?.[ENDPOINT_PARAMETERS.trustMarkStatus];
  if (ctx.checkStatus && typeof endpoint === 'string') {
    const inactive = await checkTrustMarkStatus(jwt, {
      fetcher: ctx.fetcher,
      endpoint,
      issuer: iss,
      issuerJwks: issuer.configuration.jwks as JSONWebKeySet,
      nowSeconds: now,
      clockSkewSeconds: skew,
    });
    if (inactive) return { ...inactive, message: `${what}: ${inactive.message}` };
  }

  return exp === undefined
    ? { trust_mark_type: type, trust_mark: jwt, iss, sub, iat }
    : { trust_mark_type: type, trust_mark: jwt, iss, sub, iat, exp };
}

/** Verifies every Trust Mark of the subject; the ones that fail are left out with a finding each (§7.3). */
export async function verifyTrustMarks(
  ctx: TrustMarkContext,
): Promise<{ trustMarks: VerifiedTrustMark[]; findings: ChainFinding[] }> {
  const results = await Promise.all(
    (ctx.subject.trust_marks ?? []).map((entry, i) => verifyTrustMark(entry, i, ctx)),
  );
  const trustMarks: VerifiedTrustMark[] = [];
  const findings: ChainFinding[] = [];
  for (const result of results) {
    if ('code' in result) findings.push(result);
    else trustMarks.push(result);
  }
  return { trustMarks, findings };
}
