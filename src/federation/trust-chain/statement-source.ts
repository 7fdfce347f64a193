import { decodeJwt, type JSONWebKeySet } from 'jose';
import { ENDPOINT_PARAMETERS, MEDIA_TYPES } from '../constants.ts';
import { type EntityStatementClaims, verifyEntityStatement } from '../entity-statement.ts';
import type { FederationFetcher } from '../fetch/federation-fetcher.ts';
import type { ChainFinding } from '../types.ts';
import { entityConfigurationUrl } from './entity-identifier.ts';
import { fetchFinding, finding, statementFinding } from './finding.ts';
import type { VerificationMemo } from './signature-cache.ts';
import type { TrustChainCache } from './trust-chain-cache.ts';

/** A statement that verified but is not the one asked for (wrong iss or sub). */
class MismatchError extends Error {
  readonly step: string;
  constructor(step: string, message: string) {
    super(message);
    this.step = step;
  }
}

export type Obtained =
  | { ok: true; jwt: string; claims: EntityStatementClaims }
  | { ok: false; finding: ChainFinding };

/** Entity Configurations and Subordinate Statements for one resolution, each fetched at most once (§10.1). */
export interface StatementSource {
  /** The Entity Configuration of `entityId`, verified with its own keys (§3.2, §9). */
  entityConfiguration(entityId: string): Promise<Obtained>;
  /** The Subordinate Statement `issuer` makes about `subject`, verified with the issuer's keys (§8.1, §3.2). */
  subordinateStatement(issuer: EntityStatementClaims, subject: string): Promise<Obtained>;
}

export interface StatementSourceOptions {
  fetcher: FederationFetcher;
  cache: TrustChainCache | undefined;
  nowSeconds: number;
  clockSkewSeconds: number;
  /** Skip cached statements (they are still refreshed in the cache). */
  forceRefresh: boolean;
  /** Most network requests this resolution may make. */
  maxFetches: number;
  /** Signatures already verified by the resolver; a statement is verified once per key, not once per use. */
  signatureMemo?: VerificationMemo;
}

/**
 * Fetches and verifies statements, caching each (as its JWT) until its `exp` once it has verified; a cached
 * statement is verified again when used, so a rotated key or a changed superior is noticed (with the signature
 * memo that costs no public-key operation unless the key did change). One source serves one resolution, the
 * chains of its Trust Mark Issuers included: within it each statement is fetched at most once, even with
 * `forceRefresh`.
 */
export function createStatementSource(options: StatementSourceOptions): StatementSource {
  const memo = new Map<string, Promise<Obtained>>();
  let fetches = 0;
  const verifyOptions = {
    now: new Date(options.nowSeconds * 1000),
    clockSkewSeconds: options.clockSkewSeconds,
    signatureMemo: options.signatureMemo,
  };

  async function obtain(
    key: string,
    url: () => string,
    verify: (jwt: string) => Promise<EntityStatementClaims>,
    step: string,
    what: string,
    entityId: string,
  ): Promise<Obtained> {
    const cached = options.forceRefresh ? undefined : options.cache?.get(key, options.nowSeconds);
    if (typeof cached === 'string') {
      try {
        return { ok: true, jwt: cached, claims: await verify(cached) };
      } catch {
        options.cache?.delete(key);
      }
    }
    if (fetches >= options.maxFetches) {
      return {
        ok: false,
        finding: finding(
          '§10.1',
          'fetch_budget_exhausted',
          `${what}: too many requests for one resolution`,
          entityId,
        ),
      };
    }
    fetches++;
    let jwt: string;
    try {
      jwt = (await options.fetcher.fetch({ url: url(), accept: MEDIA_TYPES.entityStatement })).body.trim();
    } catch (err) {
      return { ok: false, finding: fetchFinding(err, step, what, entityId) };
    }
    try {
      const claims = await verify(jwt);
      options.cache?.set(key, jwt, claims.exp);
      return { ok: true, jwt, claims };
    } catch (err) {
      if (err instanceof MismatchError)
        return {
          ok: false,
          finding: finding(err.step, 'subject_mismatch', `${what}: ${err.message}`, entityId),
        };
      return { ok: false, finding: statementFinding(err, what, entityId) };
    }
  }

  function memoised(key: string, load: () => Promise<Obtained>): Promise<Obtained> {
    let pending = memo.get(key);
    if (pending === undefined) {
      pending = load();
      memo.set(key, pending);
    }
    return pending;
  }

  return {
    entityConfiguration(entityId) {
      const key = `ec|${entityId}`;
      return memoised(key, () =>
        obtain(
          key,
          () => entityConfigurationUrl(entityId),
          async (jwt) => {
            let jwks: unknown;
            try {
              jwks = decodeJwt(jwt).jwks;
            } catch {
              jwks = undefined;
            }
            const { payload } = await verifyEntityStatement(jwt, jwks as JSONWebKeySet, verifyOptions);
            // §3.2 steps 4 and 6: it is about the entity asked for, and issued by it.
            if (payload.sub !== entityId || payload.iss !== entityId) {
              throw new MismatchError('§3.2 step 4', `iss and sub must be ${entityId}`);
            }
            return payload;
          },
          '§9',
          `Entity Configuration of ${entityId}`,
          entityId,
        ),
      );
    },
    subordinateStatement(issuer, subject) {
      const key = `ss|${issuer.sub}|${subject}`;
      const endpoint = issuer.metadata?.federation_entity?.[ENDPOINT_PARAMETERS.fetch];
      if (typeof endpoint !== 'string') {
        return Promise.resolve({
          ok: false,
          finding: finding(
            '§8.1',
            'missing_fetch_endpoint',
            `${issuer.sub} publishes no federation_fetch_endpoint`,
            issuer.sub,
          ),
        });
      }
      return memoised(key, () =>
        obtain(
          key,
          () => {
            const url = new URL(endpoint);
            url.searchParams.set('sub', subject);
            return url.href;
          },
          async (jwt) => {
            const { payload } = await verifyEntityStatement(jwt, issuer.jwks as JSONWebKeySet, verifyOptions);
            // §3.2 step 4: the statement is about the subject asked for, issued by the superior asked.
            if (payload.iss !== issuer.sub || payload.sub !== subject) {
              throw new MismatchError('§3.2 step 4', `iss must be ${issuer.sub} and sub ${subject}`);
            }
            return payload;
          },
          '§8.1.2',
          `Subordinate Statement of ${issuer.sub} about ${subject}`,
          issuer.sub,
        ),
      );
    },
  };
}
