import type { KoaContextWithOIDC } from 'oidc-provider';
import * as client from 'openid-client';
import type { Clock } from '../../shared/clock.ts';
import type { Storage } from '../../storage/index.ts';
import { StorageAdapter } from '../storage-adapter.ts';
import type { AccountStore } from './account-store.ts';

/** The fixed path the upstream identity provider redirects back to (registered there, matched exactly). */
export const UPSTREAM_CALLBACK_PATH = '/interaction/upstream-callback';
const PENDING_TTL_SECONDS = 600;

export interface UpstreamConfig {
  /** The upstream OpenID Provider's issuer (its discovery document is read from it). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated; `openid` is always asked for. */
  scopes: string;
  /** The button's label: "Sign in with <label>". */
  label: string;
  /** Overrides fetch for the upstream's endpoints (tests: a private CA). */
  fetch?: typeof fetch;
}

/** Sign in with the provider's existing identity provider (upstream OpenID Connect). */
export interface UpstreamLogin {
  label: string;
  /** The upstream issuer's origin (CSP form-action of the login page). */
  origin: string;
  /** Sends the browser to the upstream authorization endpoint for interaction `uid`. */
  start(ctx: KoaContextWithOIDC, uid: string): Promise<void>;
  /**
   * The upstream's redirect: redeems the code (PKCE, state and nonce checked by openid-client), maps the
   * upstream (iss, sub) to a local account, and returns the interaction to resume with that account.
   */
  callback(ctx: KoaContextWithOIDC): Promise<{ uid: string; state: string }>;
  /** The account an interaction's completed upstream login proved, once (the record is consumed). */
  finish(uid: string, state: string): Promise<string | undefined>;
}

interface Pending {
  uid: string;
  verifier: string;
  nonce: string;
  accountId?: string;
}

export class UpstreamError extends Error {}

/**
 * openid-client against the configured upstream: authorization code with PKCE (S256), state and nonce
 * (OpenID Connect Core §3.1.2.1, RFC 7636), the ID Token validated by openid-client; the upstream `iss` +
 * `sub` pair names the local account (created on first use).
 */
export function createUpstreamLogin(
  config: UpstreamConfig,
  deps: { storage: Storage; clock: Clock; accounts: AccountStore; issuer: string },
): UpstreamLogin {
  const pending = new StorageAdapter('UpstreamLogin', deps.storage, deps.clock);
  const redirectUri = `${deps.issuer.replace(/\/+$/, '')}${UPSTREAM_CALLBACK_PATH}`;
  let discovered: Promise<client.Configuration> | undefined;
  const configuration = () => {
    discovered ??= client
      .discovery(
        new URL(config.issuer),
        config.clientId,
        undefined,
        client.ClientSecretBasic(config.clientSecret),
        config.fetch ? { [client.customFetch]: config.fetch as client.CustomFetch } : undefined,
      )
      .then((c) => {
        if (config.fetch) c[client.customFetch] = config.fetch as client.CustomFetch;
        return c;
      })
      .catch((err) => {
        discovered = undefined;
        throw err;
      });
    return discovered;
  };

  return {
    label: config.label,
    origin: new URL(config.issuer).origin,

    async start(ctx, uid) {
      const c = await configuration();
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      await pending.upsert(state, { uid, verifier, nonce } as never, PENDING_TTL_SECONDS);
      const scopes = new Set(['openid', ...config.scopes.split(' ').filter(Boolean)]);
      const url = client.buildAuthorizationUrl(c, {
        redirect_uri: redirectUri,
        scope: [...scopes].join(' '),
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      ctx.status = 303;
      ctx.redirect(url.href);
    },

    async callback(ctx) {
      const current = new URL(ctx.originalUrl, redirectUri);
      const state = current.searchParams.get('state') ?? '';
      const record = state ? ((await pending.find(state)) as unknown as Pending | undefined) : undefined;
      if (!record || record.accountId) throw new UpstreamError('unknown or used state');
      const c = await configuration();
      const tokens = await client.authorizationCodeGrant(c, current, {
        pkceCodeVerifier: record.verifier,
        expectedState: state,
        expectedNonce: record.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new UpstreamError('no ID Token');
      // OpenID Connect Core §5.4: scope-requested claims may come only from the UserInfo endpoint, whose `sub`
      // openid-client checks against the ID Token's (§5.3.2).
      let profile: Record<string, unknown> = claims;
      if (typeof claims.email !== 'string' && c.serverMetadata().userinfo_endpoint) {
        profile = { ...claims, ...(await client.fetchUserInfo(c, tokens.access_token, claims.sub)) };
      }
      const account = await deps.accounts.upstreamAccount(
        claims.iss,
        claims.sub,
        {
          ...(typeof profile.name === 'string' && { name: profile.name }),
          ...(typeof profile.email === 'string' && { email: profile.email }),
        },
        deps.clock(),
      );
      await pending.upsert(state, { ...record, accountId: account.id } as never, PENDING_TTL_SECONDS);
      return { uid: record.uid, state };
    },

    async finish(uid, state) {
      const record = (await pending.find(state)) as unknown as Pending | undefined;
      if (!record || record.uid !== uid || !record.accountId) return undefined;
      await pending.destroy(state);
      return record.accountId;
    },
  };
}
