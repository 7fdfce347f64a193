import type { KoaContextWithOIDC, default as Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import { directoryStore } from '../../directory/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Storage } from '../../storage/index.ts';
import type { AccountStore } from './account-store.ts';
import { checkCsrfToken, csrfKey, csrfToken } from './csrf.ts';
import type { GrantStore } from './grants.ts';
import { SharedAddressThrottle } from './lockout.ts';
import { consentPage, LOGIN_FAILED, loginPage, messagePage, STYLESHEET, STYLESHEET_PATH } from './pages.ts';
import { UPSTREAM_CALLBACK_PATH, type UpstreamLogin } from './upstream.ts';

const CSP =
  "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * CSP `form-action` also governs the redirects that follow a form submission (CSP Level 3 §6.3.1; Chromium
 * enforces it): a page whose form ends the interaction names the one redirect URI of this authorization
 * request, exactly (the client's registered, exact-matched URI), and nothing else.
 */
export function cspFor(redirectUri: unknown, ...more: string[]): string {
  const sources = [redirectUri, ...more]
    .filter((u): u is string => typeof u === 'string' && /^https?:\/\/[^\s;,'"]+$/.test(u))
    .map((u) => u.split(/[?#]/)[0]);
  if (sources.length === 0) return CSP;
  return CSP.replace("form-action 'self'", `form-action 'self' ${sources.join(' ')}`);
}

/** Every interaction page: nothing but our stylesheet may load, nothing may frame it, no form may leave. */
export const INTERACTION_HEADERS = {
  'content-security-policy': CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

const MAX_FORM_BYTES = 8 * 1024;
const PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|consent|abort|upstream|upstream-done))?$/;

export interface InteractionOptions {
  storage: Storage;
  kek: string;
  clock: Clock;
  logger: Logger;
  accounts: AccountStore;
  grants: GrantStore;
  /** The resource (audience) consented scopes are granted for. */
  audience: string;
  upstream?: UpstreamLogin;
}

class FormError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function readForm(ctx: KoaContextWithOIDC): Promise<URLSearchParams> {
  const type = (ctx.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded')
    throw new FormError(415, 'This form must be posted as a form.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new FormError(413, 'This form is too large.');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The end-user interaction routes served by the authorization server itself (issue 14): login, consent and
 * abort, as server-rendered pages with POST forms. oidc-provider binds each interaction to its SameSite
 * interaction cookie; each form additionally carries a CSRF token bound to the interaction.
 */
export function createInteractions(provider: Provider, options: InteractionOptions) {
  const key = csrfKey(options.kek);
  // Shared by every node on the database (issue 16).
  const throttle = new SharedAddressThrottle(options.storage.db);
  const directory = directoryStore(options.storage.db);

  // The upstream identity provider's origin, where the "Sign in with …" form's redirect goes.
  const upstreamOrigin = options.upstream ? [options.upstream.origin] : [];
  const send = (ctx: KoaContextWithOIDC, status: number, body: string, redirectUri?: unknown) => {
    ctx.status = status;
    ctx.set({ ...INTERACTION_HEADERS, 'content-security-policy': cspFor(redirectUri, ...upstreamOrigin) });
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = body;
  };

  async function clientOf(clientId: string): Promise<{ name: string; organisation: string | undefined }> {
    const client = await provider.Client.find(clientId);
    const app = await directory.applicationWithOrganisation(clientId);
    return { name: client?.clientName ?? app?.name ?? clientId, organisation: app?.org_name };
  }

  async function renderLogin(
    ctx: KoaContextWithOIDC,
    uid: string,
    clientId: string,
    redirectUri: unknown,
    status = 200,
    error?: { message: string; username: string },
  ) {
    const client = await clientOf(clientId);
    send(
      ctx,
      status,
      loginPage({
        uid,
        csrf: csrfToken(key, uid, 'login'),
        clientName: client.name,
        organisation: client.organisation,
        ...(error && { error: error.message, username: error.username }),
        ...(options.upstream && {
          upstream: { label: options.upstream.label, csrf: csrfToken(key, uid, 'upstream') },
        }),
      }),
      redirectUri,
    );
  }

  function requestedScopes(details: Record<string, unknown>): string[] {
    const oidc = (details.missingOIDCScope as string[] | undefined) ?? [];
    const resource = details.missingResourceScopes as Record<string, string[]> | undefined;
    return [...new Set([...oidc, ...Object.values(resource ?? {}).flat()])];
  }

  async function show(ctx: KoaContextWithOIDC, uid: string) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid)
      throw new FormError(400, 'This sign-in page does not belong to your session.');
    const clientId = String(interaction.params.client_id);
    if (interaction.prompt.name === 'login') {
      return renderLogin(ctx, uid, clientId, interaction.params.redirect_uri);
    }
    if (interaction.prompt.name === 'consent') {
      const client = await clientOf(clientId);
      const names = requestedScopes(interaction.prompt.details);
      const descriptions = await directory.scopeDescriptions(names);
      const plain: Record<string, string> = {
        openid: 'Know who you are (your account identifier)',
        offline_access: 'Keep access while you are away',
      };
      return send(
        ctx,
        200,
        consentPage({
          uid,
          csrf: csrfToken(key, uid, 'consent'),
          clientName: client.name,
          organisation: client.organisation,
          scopes: names.map((name) => ({
            name,
            description: descriptions.get(name) ?? plain[name] ?? name,
          })),
        }),
        interaction.params.redirect_uri,
      );
    }
    throw new FormError(400, 'This sign-in step is not supported.');
  }

  async function finish(ctx: KoaContextWithOIDC, result: Parameters<Provider['interactionResult']>[2]) {
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.set(INTERACTION_HEADERS);
    // RFC 9110 §15.4.4: 303 turns the POST into a GET at the authorization endpoint's resume route.
    ctx.status = 303;
    ctx.redirect(redirectTo);
  }

  async function login(ctx: KoaContextWithOIDC, uid: string, form: URLSearchParams) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid || interaction.prompt.name !== 'login') {
      throw new FormError(400, 'This sign-in page is no longer valid. Start again from the application.');
    }
    const clientId = String(interaction.params.client_id);
    const username = form.get('username') ?? '';
    const now = options.clock();
    const address = ctx.ip;
    if (await throttle.locked(address, now)) {
      options.logger.warn({ address }, 'login refused: address locked');
      return renderLogin(ctx, uid, clientId, interaction.params.redirect_uri, 429, {
        message: LOGIN_FAILED,
        username,
      });
    }
    const outcome = await options.accounts.authenticate(
      { username, password: form.get('password') ?? '', totp: form.get('totp') ?? '' },
      now,
    );
    if (!outcome.ok) {
      await throttle.fail(address, now);
      options.logger.info({ reason: outcome.reason, address }, 'login failed');
      // One message whatever failed: no account enumeration (OWASP Authentication Cheat Sheet).
      return renderLogin(ctx, uid, clientId, interaction.params.redirect_uri, 401, {
        message: LOGIN_FAILED,
        username,
      });
    }
    await throttle.succeed(address);
    const account = await options.accounts.get(outcome.accountId);
    return finish(ctx, {
      login: { accountId: outcome.accountId, amr: account.totp ? ['pwd', 'otp'] : ['pwd'] },
    });
  }

  async function consent(ctx: KoaContextWithOIDC, uid: string, form: URLSearchParams) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid || interaction.prompt.name !== 'consent' || !interaction.session?.accountId) {
      throw new FormError(400, 'This consent page is no longer valid. Start again from the application.');
    }
    if (form.get('decision') !== 'allow') {
      return finish(ctx, { error: 'access_denied', error_description: 'the user denied the request' });
    }
    const accountId = interaction.session.accountId;
    const clientId = String(interaction.params.client_id);
    const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
    const grant =
      existing && existing.accountId === accountId && existing.clientId === clientId
        ? existing
        : new provider.Grant({ accountId, clientId });
    const details = interaction.prompt.details as Record<string, unknown>;
    const oidc = (details.missingOIDCScope as string[] | undefined) ?? [];
    if (oidc.length > 0) grant.addOIDCScope(oidc.join(' '));
    for (const [resource, scopes] of Object.entries(
      (details.missingResourceScopes as Record<string, string[]> | undefined) ?? {},
    )) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    const scope = [
      ...new Set([
        ...(grant.getOIDCScope() || '').split(' '),
        ...(grant.getResourceScopeEncountered(options.audience) || '').split(' '),
      ]),
    ]
      .filter(Boolean)
      .join(' ');
    const now = options.clock();
    const exp = (grant as unknown as { exp?: number }).exp;
    await options.grants.remember(
      {
        grant_id: grantId,
        account_id: accountId,
        client_id: clientId,
        scope,
        expires_at: new Date(exp ? exp * 1000 : now.getTime() + 30 * 86_400_000).toISOString(),
      },
      now,
    );
    return finish(ctx, { consent: { grantId } });
  }

  /** The upstream's redirect: no interaction cookie reaches this fixed path, so resume under the uid's path. */
  async function upstreamCallback(ctx: KoaContextWithOIDC, upstream: UpstreamLogin) {
    if (ctx.method !== 'GET') return send(ctx, 405, messagePage('Cannot continue', 'Method not allowed.'));
    try {
      const { uid, state } = await upstream.callback(ctx);
      ctx.set(INTERACTION_HEADERS);
      ctx.status = 303;
      ctx.redirect(`/interaction/${uid}/upstream-done?state=${encodeURIComponent(state)}`);
    } catch (err) {
      options.logger.warn({ err: (err as Error).message }, 'upstream login failed');
      send(
        ctx,
        400,
        messagePage(
          'Cannot continue',
          'Signing in with your organisation account did not work. Start again from the application.',
        ),
      );
    }
  }

  async function upstreamDone(ctx: KoaContextWithOIDC, uid: string, upstream: UpstreamLogin) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid || interaction.prompt.name !== 'login') {
      throw new FormError(400, 'This sign-in page is no longer valid. Start again from the application.');
    }
    const accountId = await upstream.finish(uid, String(ctx.query.state ?? ''));
    const account = accountId ? await options.accounts.find(accountId) : undefined;
    if (account?.status !== 'active') {
      throw new FormError(
        400,
        'Signing in with your organisation account did not work. Start again from the application.',
      );
    }
    return finish(ctx, { login: { accountId: account.id, amr: ['fed'] } });
  }

  async function abort(ctx: KoaContextWithOIDC, uid: string) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid) throw new FormError(400, 'This page is no longer valid.');
    return finish(ctx, { error: 'access_denied', error_description: 'the user cancelled the request' });
  }

  return async function interactionMiddleware(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    if (ctx.path === STYLESHEET_PATH && ctx.method === 'GET') {
      ctx.set({
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      });
      ctx.type = 'text/css; charset=utf-8';
      ctx.body = STYLESHEET;
      return;
    }
    if (ctx.path === UPSTREAM_CALLBACK_PATH && options.upstream)
      return upstreamCallback(ctx, options.upstream);
    const match = PATH.exec(ctx.path);
    if (!match) return next();
    const [, uid, action] = match as unknown as [string, string, string | undefined];
    try {
      if (action === undefined) {
        if (ctx.method !== 'GET') throw new FormError(405, 'Method not allowed.');
        return await show(ctx, uid);
      }
      if (action === 'upstream-done' && options.upstream && ctx.method === 'GET') {
        return await upstreamDone(ctx, uid, options.upstream);
      }
      if (ctx.method !== 'POST') throw new FormError(405, 'Method not allowed.');
      const form = await readForm(ctx);
      if (!checkCsrfToken(key, uid, action === 'abort' ? 'login' : action, form.get('csrf'))) {
        if (!(action === 'abort' && checkCsrfToken(key, uid, 'consent', form.get('csrf')))) {
          throw new FormError(
            403,
            'This form has expired or did not come from this page. Start again from the application.',
          );
        }
      }
      if (action === 'login') return await login(ctx, uid, form);
      if (action === 'consent') return await consent(ctx, uid, form);
      if (action === 'upstream' && options.upstream) return await options.upstream.start(ctx, uid);
      if (action === 'abort') return await abort(ctx, uid);
      throw new FormError(404, 'Not found.');
    } catch (err) {
      if (err instanceof FormError) return send(ctx, err.status, messagePage('Cannot continue', err.message));
      const name = (err as { name?: string }).name;
      if (name === 'SessionNotFound' || name === 'InvalidRequest') {
        // The interaction cookie is missing, expired or belongs to another interaction.
        return send(
          ctx,
          400,
          messagePage('Cannot continue', 'This sign-in has expired. Start again from the application.'),
        );
      }
      throw err;
    }
  };
}
