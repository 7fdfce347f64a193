import type { FastifyInstance, FastifyReply } from 'fastify';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { recordAuditEvent } from '../../audit/index.ts';
import {
  accountStore,
  CONSOLE_CALLBACK_PATH,
  CONSOLE_CLIENT_ALG,
  CONSOLE_CLIENT_ID,
  consoleClientKey,
} from '../../authorization-server/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Storage } from '../../storage/index.ts';
import type { CallerResolver } from '../caller.ts';
import { setConsoleHeaders } from '../serve-web.ts';
import { CSRF_HEADER, csrfMatches, sessionCookie, sessionSecretOf } from '../sessions.ts';
import { registerInvitationRoutes } from './invitation-routes.ts';
import {
  cookieValue,
  LOGIN_COOKIE,
  loginCookie,
  openTransaction,
  safeReturnTo,
  sealTransaction,
} from './login-transaction.ts';

export interface ConsoleSignInDeps {
  storage: Storage;
  clock: Clock;
  kek: string;
  callers: CallerResolver;
  /** The platform's public base URL: the issuer of its authorization server and the console's origin. */
  publicUrl: string;
  /** PEM chain the public listener's TLS certificate chains to (the platform CA): the token call trusts it. */
  caPem: string;
  logger: Logger;
}

const problemOf = (status: number, code: string, detail: string) => ({
  type: `urn:accredit:problem:${code}`,
  title: status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Bad Request',
  status,
  code,
  detail,
});

/** The console's server responses: its security headers, never cached. */
export const consoleReply = (reply: FastifyReply): FastifyReply =>
  setConsoleHeaders(reply).header('cache-control', 'no-store');

/**
 * Sign-in and sign-out of the console (issue 15): an OAuth client (authorization code + PKCE, `openid`) of the
 * platform's own authorization server, and the session API the single-page app starts from.
 */
export function registerConsoleSignIn(app: FastifyInstance, deps: ConsoleSignInDeps): void {
  registerInvitationRoutes(app, deps);
  const issuer = deps.publicUrl.replace(/\/+$/, '');
  const origin = new URL(issuer).origin;
  const redirectUri = `${issuer}${CONSOLE_CALLBACK_PATH}`;
  // The token call goes to this platform's own public listener over HTTPS, trusting only the platform CA.
  const agent = new Agent({ connect: { ca: deps.caPem } });
  const customFetch = ((url: string, options: Record<string, unknown>) =>
    undiciFetch(url, { ...options, dispatcher: agent } as Parameters<typeof undiciFetch>[1])) as never;
  let configuration: Promise<client.Configuration> | undefined;
  const config = () => {
    configuration ??= (async () => {
      const key = await consoleClientKey(deps.kek).toCryptoKey(
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['sign'],
      );
      const discovered = await client.discovery(
        new URL(issuer),
        CONSOLE_CLIENT_ID,
        { token_endpoint_auth_signing_alg: CONSOLE_CLIENT_ALG },
        client.PrivateKeyJwt(key),
        { [client.customFetch]: customFetch },
      );
      discovered[client.customFetch] = customFetch;
      return discovered;
    })().catch((err) => {
      configuration = undefined; // try again on the next sign-in
      throw err;
    });
    return configuration;
  };
  const fail = (reply: FastifyReply, error: string) =>
    consoleReply(reply)
      .header('set-cookie', loginCookie(undefined))
      .redirect(`/console/?error=${encodeURIComponent(error)}`, 303);

  app.get('/console/auth/login', { schema: { hide: true } }, async (request, reply) => {
    const returnTo = safeReturnTo((request.query as { return_to?: unknown }).return_to, origin);
    let cfg: client.Configuration;
    try {
      cfg = await config();
    } catch (err) {
      deps.logger.error({ err }, 'console sign-in: the authorization server is unreachable');
      return fail(reply, 'sign_in_unavailable');
    }
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(cfg, {
      redirect_uri: redirectUri,
      scope: 'openid',
      // Always ask for the password: signing out of the console must not leave a session at the AS that signs
      // the next person at this browser straight back in.
      prompt: 'login',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const sealed = await sealTransaction(deps.kek, { state, verifier, nonce, returnTo }, deps.clock());
    return consoleReply(reply).header('set-cookie', loginCookie(sealed)).redirect(url.href, 302);
  });

  app.get('/console/auth/callback', { schema: { hide: true } }, async (request, reply) => {
    const now = deps.clock();
    const tx = await openTransaction(deps.kek, cookieValue(request.headers.cookie, LOGIN_COOKIE), now);
    const query = request.query as Record<string, unknown>;
    // No transaction (never started here, expired, already finished) or another one's state: refused.
    if (!tx || typeof query.state !== 'string' || query.state !== tx.state) {
      deps.logger.info('console sign-in refused: no matching sign-in transaction');
      return fail(reply, 'sign_in_expired');
    }
    if (typeof query.error === 'string') {
      return fail(reply, query.error === 'access_denied' ? 'access_denied' : 'sign_in_failed');
    }
    let sub: string | undefined;
    try {
      const cfg = await config();
      const current = new URL(request.url, issuer);
      const tokens = await client.authorizationCodeGrant(cfg, current, {
        pkceCodeVerifier: tx.verifier,
        expectedState: tx.state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
      });
      sub = tokens.claims()?.sub;
    } catch (err) {
      // A replayed or forged code, a wrong nonce, an unreachable AS: logged without the code or tokens.
      deps.logger.info(
        { error: (err as { code?: string; error?: string }).error ?? (err as Error).name },
        'console sign-in refused at the token endpoint',
      );
      return fail(reply, 'sign_in_failed');
    }
    const account = sub ? await accountStore(deps.storage.db, deps.kek).find(sub) : undefined;
    if (!account || account.id !== sub || account.status !== 'active') {
      return fail(reply, 'account_disabled');
    }
    // A session this browser had before ends: one browser, one session (no fixation of an old one).
    const previous = sessionSecretOf(request.headers.cookie);
    if (previous) await deps.callers.sessions.revoke(previous, now);
    const { secret } = await deps.callers.sessions.create(account.id, now);
    await deps.storage.transaction((t) =>
      recordAuditEvent(
        t,
        {
          actor: `account:${account.username}`,
          action: 'console.sign_in',
          targetType: 'account',
          targetId: account.id,
          details: {},
        },
        now,
      ),
    );
    return consoleReply(reply)
      .header('set-cookie', [loginCookie(undefined), sessionCookie(secret)])
      .redirect(tx.returnTo, 303);
  });

  app.get('/console/api/session', { schema: { hide: true } }, async (request, reply) => {
    consoleReply(reply);
    const caller = await deps.callers.resolve(request.headers.cookie);
    if (!caller) {
      return reply
        .code(401)
        .type('application/problem+json')
        .send(problemOf(401, 'unauthenticated', 'no console session: sign in'));
    }
    return {
      account: caller.account,
      operator: caller.operator ?? null,
      memberships: caller.memberships,
      csrfToken: caller.session.csrfToken,
      expiresAt: caller.session.expiresAt,
    };
  });

  app.post('/console/auth/logout', { schema: { hide: true } }, async (request, reply) => {
    consoleReply(reply);
    if (request.headers['sec-fetch-site'] === 'cross-site') {
      return reply
        .code(403)
        .type('application/problem+json')
        .send(problemOf(403, 'cross_site_request', 'cross-site requests are refused'));
    }
    const secret = sessionSecretOf(request.headers.cookie);
    const caller = secret ? await deps.callers.resolve(request.headers.cookie) : undefined;
    if (secret && caller) {
      if (!csrfMatches(secret, request.headers[CSRF_HEADER])) {
        return reply
          .code(403)
          .type('application/problem+json')
          .send(problemOf(403, 'csrf_token_invalid', `the ${CSRF_HEADER} header is missing or wrong`));
      }
      const now = deps.clock();
      await deps.callers.sessions.revoke(secret, now);
      await deps.storage.transaction((t) =>
        recordAuditEvent(
          t,
          {
            actor: `account:${caller.account.username}`,
            action: 'console.sign_out',
            targetType: 'account',
            targetId: caller.account.id,
            details: {},
          },
          now,
        ),
      );
    }
    // A session whose account was disabled meanwhile: ended too (harmless; no CSRF check needed to end it).
    if (secret && !caller) await deps.callers.sessions.revoke(secret, deps.clock());
    // Without a session there is nothing to end: the cookie is cleared all the same.
    return reply.code(204).header('set-cookie', sessionCookie(undefined)).send();
  });
}
