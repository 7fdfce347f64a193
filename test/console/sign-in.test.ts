// Issue 15: the console signs people in through the platform's own authorization server (authorization code +
// PKCE), keeps an HttpOnly/Secure/SameSite=Strict session, and signs them out.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { accountStore } from '../../src/authorization-server/index.ts';
import { SESSION_COOKIE, sessionStore } from '../../src/console/index.ts';
import { LOGIN_COOKIE, safeReturnTo } from '../../src/console/sign-in/login-transaction.ts';
import {
  type ConsolePlatform,
  call,
  createAccount,
  launchChromium,
  makeOperator,
  PASSWORD,
  sessionFor,
  startConsolePlatform,
} from './support/console-platform.ts';

describe('console sign-in (issue 15)', { timeout: 120_000 }, () => {
  let cp: ConsolePlatform;
  let browser: Browser;

  before(async () => {
    cp = await startConsolePlatform();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await cp?.stop();
  });

  /** Goes through the console's sign-in in a fresh browser context. */
  async function signIn(username: string, options: { returnTo?: string } = {}) {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const query = options.returnTo ? `?return_to=${encodeURIComponent(options.returnTo)}` : '';
    await page.goto(`${cp.platform.urls.public}/console/auth/login${query}`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(
      (url) => url.pathname.startsWith('/console/') && !url.pathname.startsWith('/console/auth/'),
    );
    return { context, page };
  }

  async function sessionApi(page: Page) {
    return page.evaluate(async () => {
      const res = await fetch('/console/api/session');
      return { status: res.status, body: await res.json() };
      // biome-ignore lint/suspicious/noExplicitAny: test convenience.
    }) as Promise<{ status: number; body: any }>;
  }

  test('ok/sign in through the AS login page, HttpOnly Secure SameSite=Strict cookie, then sign out', async () => {
    const accountId = await makeOperator(cp, 'administrator', 'signin-admin');
    const { context, page } = await signIn('signin-admin', { returnTo: '/console/operator' });
    assert.equal(new URL(page.url()).pathname, '/console/operator');
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === SESSION_COOKIE);
    assert.ok(session, JSON.stringify(cookies.map((c) => c.name)));
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/');
    assert.ok(!cookies.some((c) => c.name === LOGIN_COOKIE), 'the sign-in transaction cookie is cleared');
    const signedIn = await sessionApi(page);
    assert.equal(signedIn.status, 200);
    assert.equal(signedIn.body.account.id, accountId);
    assert.equal(signedIn.body.operator, 'administrator');
    assert.match(signedIn.body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
    // The app's Sign out button.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.pathname === '/console/');
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    assert.equal((await sessionApi(page)).status, 401);
    // Signing in again asks for the password again (prompt=login): no silent sign-in after sign-out.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Password').waitFor();
    assert.equal(new URL(page.url()).pathname.startsWith('/interaction/'), true, page.url());
    // The old cookie no longer works anywhere.
    const old = { accountId, secret: session.value, cookie: `${SESSION_COOKIE}=${session.value}`, csrf: '' };
    assert.equal((await call(cp, old, 'GET', '/console/api/session')).status, 401);
    assert.equal((await call(cp, old, 'GET', '/admin/v1/organisations')).status, 401);
    await context.close();
  });

  test('ok/the session API and auth routes answer no-store with the console security headers', async () => {
    const res = await call(cp, undefined, 'GET', '/console/api/session');
    assert.equal(res.status, 401);
    assert.equal(res.json.code, 'unauthenticated');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.ok(res.headers['content-security-policy']);
    const login = await call(cp, undefined, 'GET', '/console/auth/login');
    assert.equal(login.status, 302);
    assert.equal(login.headers['cache-control'], 'no-store');
    const location = new URL(String(login.headers.location));
    assert.equal(location.origin, new URL(cp.platform.urls.public).origin);
    assert.equal(location.searchParams.get('client_id'), 'accredit-console');
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(location.searchParams.get('scope'), 'openid');
    assert.equal(location.searchParams.get('prompt'), 'login');
    assert.ok(location.searchParams.get('state'));
    assert.ok(location.searchParams.get('nonce'));
    assert.match(
      String(login.headers['set-cookie']),
      /^__Host-accredit-login=[^;]+; Path=\/; Secure; HttpOnly/,
    );
  });

  test('fail/return_to is only ever a same-origin console path (no open redirect)', () => {
    const origin = 'https://platform.example';
    assert.equal(safeReturnTo('/console/orgs/1?x=1', origin), '/console/orgs/1?x=1');
    for (const bad of [
      'https://evil.example/console/',
      '//evil.example/console/',
      '/\\evil.example',
      '/console/../admin',
      '/consolex/',
      '/console/auth/login',
      'javascript:alert(1)',
      '/console/\n',
      undefined,
      42,
    ]) {
      assert.equal(safeReturnTo(bad, origin), '/console/', String(bad));
    }
  });

  test('fail/an open redirect in return_to lands on the console home', async () => {
    await createAccount(cp, 'signin-redirect');
    const { context, page } = await signIn('signin-redirect', { returnTo: 'https://evil.example/' });
    assert.equal(new URL(page.url()).origin, new URL(cp.platform.urls.public).origin);
    assert.equal(new URL(page.url()).pathname.startsWith('/console/'), true);
    await context.close();
  });

  /**
   * The sign-in up to the AS's redirect back to the callback, over plain HTTPS (a tiny cookie jar): returns the
   * callback URL (code, state, iss) and the Cookie header the browser would send with it.
   */
  async function untilCallback(username: string): Promise<{ url: string; cookie: string }> {
    const jar = new Map<string, string>();
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const go = async (url: string, init: { method?: string; body?: string } = {}) => {
      const res = await request(new URL(url, cp.platform.urls.public), {
        method: (init.method ?? 'GET') as 'GET',
        headers: {
          cookie: cookie(),
          ...(init.body && { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        body: init.body,
        dispatcher: cp.agent,
      });
      const setCookie = res.headers['set-cookie'];
      for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
        const [pair] = line.split(';');
        const eq = (pair ?? '').indexOf('=');
        jar.set((pair ?? '').slice(0, eq).trim(), (pair ?? '').slice(eq + 1).trim());
      }
      return {
        status: res.statusCode,
        location: res.headers.location as string | undefined,
        text: await res.body.text(),
      };
    };
    let step = await go('/console/auth/login');
    let location = step.location;
    for (let i = 0; i < 10 && location; i += 1) {
      if (new URL(location, cp.platform.urls.public).pathname === '/console/auth/callback') {
        return { url: new URL(location, cp.platform.urls.public).href, cookie: cookie() };
      }
      step = await go(location);
      location = step.location;
      if (!location && step.text.includes('name="password"')) {
        const action = /action="([^"]+\/login)"/.exec(step.text)?.[1];
        const csrf = /name="csrf" value="([^"]+)"/.exec(step.text)?.[1];
        assert.ok(action && csrf, step.text);
        const form = new URLSearchParams({ csrf, username, password: PASSWORD, totp: '' });
        step = await go(action, { method: 'POST', body: form.toString() });
        location = step.location;
      }
    }
    throw new Error(`never reached the callback: ${step.status} ${step.text.slice(0, 300)}`);
  }

  async function callback(url: string, cookie: string) {
    const res = await request(url, { headers: { cookie }, dispatcher: cp.agent });
    await res.body.text();
    return { location: res.headers.location, setCookie: String(res.headers['set-cookie'] ?? '') };
  }

  test('fail/wrong state, missing state and a replayed callback are refused', async () => {
    await createAccount(cp, 'signin-replay');
    const seen = await untilCallback('signin-replay');
    const wrongState = new URL(seen.url);
    wrongState.searchParams.set('state', 'not-the-state');
    assert.equal((await callback(wrongState.href, seen.cookie)).location, '/console/?error=sign_in_expired');
    const noState = new URL(seen.url);
    noState.searchParams.delete('state');
    assert.equal((await callback(noState.href, seen.cookie)).location, '/console/?error=sign_in_expired');
    // Without the sign-in transaction cookie at all.
    assert.equal((await callback(seen.url, '')).location, '/console/?error=sign_in_expired');
    // A session the browser already had ends when the new one starts.
    const before = await sessionFor(cp, await createAccount(cp));
    const first = await callback(seen.url, `${seen.cookie}; ${before.cookie}`);
    assert.equal((await call(cp, before, 'GET', '/console/api/session')).status, 401);
    assert.equal(first.location, '/console/');
    assert.match(first.setCookie, new RegExp(`${SESSION_COOKIE}=[A-Za-z0-9_-]{43}`));
    // The same callback again (the code is single use at the AS): no second session.
    const again = await callback(seen.url, seen.cookie);
    assert.equal(again.location, '/console/?error=sign_in_failed');
    assert.doesNotMatch(again.setCookie, new RegExp(`${SESSION_COOKIE}=[A-Za-z0-9]`));
  });

  test('fail/an account disabled before the callback gets no session', async () => {
    const id = await createAccount(cp, 'signin-disabled');
    const seen = await untilCallback('signin-disabled');
    await accountStore(cp.platform.storage.db, cp.kek).setStatus(id, 'disabled', new Date());
    const res = await callback(seen.url, seen.cookie);
    assert.match(String(res.location), /^\/console\/\?error=(account_disabled|sign_in_failed)$/);
    assert.doesNotMatch(res.setCookie, new RegExp(`${SESSION_COOKIE}=[A-Za-z0-9]`));
  });

  test('fail/a disabled account cannot sign in at all', async () => {
    const id = await createAccount(cp, 'signin-off');
    await accountStore(cp.platform.storage.db, cp.kek).setStatus(id, 'disabled', new Date());
    await assert.rejects(untilCallback('signin-off'), /never reached the callback: 401/);
  });

  test('fail/sign-out without the CSRF header is refused and the session lives on', async () => {
    const session = await sessionFor(cp, await createAccount(cp));
    const res = await call(cp, session, 'POST', '/console/auth/logout', undefined, {
      'x-csrf-token': 'nope',
    });
    assert.equal(res.status, 403);
    assert.equal(res.json.code, 'csrf_token_invalid');
    const missing = await request(`${cp.platform.urls.public}/console/auth/logout`, {
      method: 'POST',
      headers: { cookie: session.cookie },
      dispatcher: cp.agent,
    });
    assert.equal(missing.statusCode, 403);
    await missing.body.text();
    assert.equal((await call(cp, session, 'GET', '/console/api/session')).status, 200);
    const ok = await call(cp, session, 'POST', '/console/auth/logout');
    assert.equal(ok.status, 204);
    assert.match(String(ok.headers['set-cookie']), /Max-Age=0/);
    assert.equal((await call(cp, session, 'GET', '/console/api/session')).status, 401);
  });

  test('fail/an expired session is not a session', async () => {
    const accountId = await createAccount(cp);
    const { secret } = await sessionStore(cp.platform.storage.db).create(
      accountId,
      new Date(Date.now() - 13 * 3_600_000),
    );
    const old = { accountId, secret, cookie: `${SESSION_COOKIE}=${secret}`, csrf: '' };
    assert.equal((await call(cp, old, 'GET', '/console/api/session')).status, 401);
  });
});
