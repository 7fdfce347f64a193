import type { JSONWebKeySet } from 'jose';
import { JWT_TYPES, MEDIA_TYPES } from '../constants.ts';
import { decodeFederationJwt } from '../entity-statement.ts';
import type { FederationFetcher } from '../fetch/federation-fetcher.ts';
import { FetchError } from '../fetch/index.ts';
import type { ChainFinding } from '../types.ts';
import { type ChainFindingCode, finding } from './finding.ts';
import { verifySignature } from './verify-signature.ts';

export interface StatusContext {
  fetcher: FederationFetcher;
  endpoint: string;
  issuer: string;
  issuerJwks: JSONWebKeySet | undefined;
  nowSeconds: number;
  clockSkewSeconds: number;
}

const INACTIVE: Record<string, ChainFindingCode> = {
  revoked: 'trust_mark_revoked',
  expired: 'trust_mark_expired',
  invalid: 'trust_mark_invalid',
};

/**
 * Asks the issuer's Trust Mark Status endpoint (§8.4): POST `trust_mark=<jwt>`, answered by a
 * `trust-mark-status-response+jwt` signed with the issuer's Federation Entity Keys. Anything but a verified
 * `active` is a finding; so is an unreachable endpoint (fail closed).
 */
export async function checkTrustMarkStatus(
  trustMark: string,
  ctx: StatusContext,
): Promise<ChainFinding | undefined> {
  let body: string;
  try {
    body = (
      await ctx.fetcher.fetch({
        url: ctx.endpoint,
        accept: MEDIA_TYPES.trustMarkStatusResponse,
        form: { trust_mark: trustMark },
      })
    ).body.trim();
  } catch (err) {
    // §8.4.2: an issuer answers 404 about a Trust Mark it did not issue or does not know.
    if (err instanceof FetchError && err.status === 404) {
      return finding('§8.4.2', 'trust_mark_unknown', 'the issuer does not know this Trust Mark', ctx.issuer);
    }
    const reason = err instanceof FetchError ? err.code : 'network_error';
    return finding(
      '§8.4',
      'trust_mark_status_unavailable',
      `status endpoint could not be asked (${reason})`,
      ctx.issuer,
    );
  }
  const invalid = (message: string) =>
    finding('§8.4.2', 'trust_mark_status_invalid', `status response: ${message}`, ctx.issuer);
  let status: unknown;
  try {
    const { header, payload } = decodeFederationJwt<Record<string, unknown>>(
      body,
      JWT_TYPES.trustMarkStatusResponse,
    );
    await verifySignature(body, ctx.issuerJwks, header.kid);
    if (payload.iss !== ctx.issuer) return invalid('iss is not the Trust Mark Issuer');
    if (payload.trust_mark !== trustMark) return invalid('it is about another Trust Mark');
    if (typeof payload.iat !== 'number' || payload.iat > ctx.nowSeconds + ctx.clockSkewSeconds) {
      return invalid('iat is missing or in the future');
    }
    status = payload.status;
  } catch (err) {
    return invalid(
      err instanceof Error && err.name === 'StatementError' ? err.message : 'could not be processed',
    );
  }
  if (status === 'active') return undefined;
  if (typeof status !== 'string') return invalid('status is missing');
  const code = INACTIVE[status] ?? 'trust_mark_status_unrecognised';
  return finding(
    '§8.4.2',
    code,
    `the issuer reports the Trust Mark as ${code === 'trust_mark_status_unrecognised' ? 'not active' : status}`,
    ctx.issuer,
  );
}
