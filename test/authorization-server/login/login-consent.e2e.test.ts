import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import Provider from 'oidc-provider';
import pino from 'pino';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { Agent, fetch as undiciFetch } from 'undici';
import {
  type AuthorizationServer,
  accountStore,
  createAuthorizationServer,
  grantStore,
  totpCode,
} from '../../../src/authorization-server/index.ts';
import { createApplication, createOrganisation } from '../../../src/directory/index.ts';
import type { CertificateAuthority } from '../../../src/pki/index.ts';
import { createSigningKey } from '../../../src/platform/signing-keys.ts';
import type { Storage } from '../../../src/storage/index.ts';
import { csrWithKey, serverTlsFrom } from '../../gateway/fixture.ts';
import { installCa, KEK } from '../../support/ca-fixture.ts';
import { seededStorage } from '../../support/directory-fixture.ts';
import { engineTargets } from '../../support/engines.ts';
import { testPartnerFetcher } from '../../support/partner-fetcher.ts';

// Issue 14: a real browser (Debian's Chromium, driven by playwright-core) signs in and consents on the
// authorization server's own pages; oauth4webapi drives PAR + PKCE and redeems the code with tls_client_auth.
const CHROMIUM = process.env.ACCREDIT_CHROMIUM ?? '/usr/bin/chromium';
const [target] = (await engineTargets()).filter((t) => t.name === 'sqlite');
const AUDIENCE = 'https://api.accredit.test';
const PASSWORD = 'correct horse battery staple';
const silent = pino({ level: process.env.DEBUG_LOGIN ? 'debug' : 'silent' });
const fetcher = testPartnerFetcher();
const screenshots = mkdtempSync(join(tmpdir(), 'accredit-login-'));

describe('end-user login and consent in a real browser (issue 14)', { timeout: 180_000 }, () => {
  let storage: Storage;
  let ca: CertificateAuthority;
  let server: Server;
  let callbackServer: Server;
  let upstreamServer: Server;
  let upstreamIssuer: string;
  let REDIRECT: string;
  let sessions = 0;
  const callbacks = new Map<string, URL[]>();
  let issuer: string;
  let as: AuthorizationServer;
  let metadata: oauth.AuthorizationServer;
  let browser: Browser;
  let clientAgent: Agent;
  let clientId: string;
  let aliceId: string;
  let bobTotp: string;
  const agents: Agent[] = [];
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const meta = { actor: 'operator:test', now };

  const fetchWith =
    (agent: Agent) =>
    (url: string, init?: RequestInit): Promise<Response> =>
      undiciFetch(url, { ...init, dispatcher: agent } as Parameters<
        typeof undiciFetch
      >[1]) as unknown as Promise<Response>;
  const options = () => ({ [oauth.customFetch]: fetchWith(clientAgent) }) as const;
  const client = () => ({ client_id: clientId, use_mtls_endpoint_aliases: true });

  before(async () => {
    storage = await seededStorage(target!);
    ca = await installCa(storage);
    await storage.db
      .insertInto('signing_keys')
      .values(await createSigningKey('access_token', 'ES256', KEK, now))
      .execute();
    // The client's redirection endpoint: a real https server the browser lands on; each browser session's
    // landings are recorded under the session's name (its user agent).
    callbackServer = createServer(await serverTlsFrom(ca), (req, res) => {
      const url = new URL(req.url ?? '/', REDIRECT);
      const who = String(req.headers['user-agent']).split(' ').pop() ?? '';
      if (url.pathname === '/cb') callbacks.get(who)?.push(url);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('client callback');
    });
    await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
    REDIRECT = `https://localhost:${(callbackServer.address() as AddressInfo).port}/cb`;
    const org = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, meta));
    clientId = await storage.transaction((tx) =>
      createApplication(
        tx,
        {
          orgId: org,
          name: 'Budget Planner',
          roles: ['partner_reader'],
          authMethod: 'tls_client_auth',
          metadata: { grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT] },
        },
        meta,
      ),
    );
    const { csrPem, keyPem } = await csrWithKey();
    const cert = await storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta));
    server = createServer({
      ...(await serverTlsFrom(ca)),
      requestCert: true,
      rejectUnauthorized: false,
      ca: ca.chainPem,
      minVersion: 'TLSv1.2',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `https://localhost:${(server.address() as AddressInfo).port}`;
    // The provider's existing identity provider: a second oidc-provider with its development login pages.
    upstreamServer = createServer(await serverTlsFrom(ca));
    await new Promise<void>((resolve) => upstreamServer.listen(0, '127.0.0.1', resolve));
    upstreamIssuer = `https://localhost:${(upstreamServer.address() as AddressInfo).port}`;
    const upstream = new Provider(upstreamIssuer, {
      clients: [
        {
          client_id: 'accredit',
          client_secret: 'upstream-client-secret',
          redirect_uris: [`${issuer}/interaction/upstream-callback`],
          response_types: ['code'],
          grant_types: ['authorization_code'],
        },
      ],
      pkce: { required: () => true },
      cookies: { keys: ['upstream-cookie-key'] },
      claims: { openid: ['sub'], email: ['email'] },
      findAccount: async (_ctx, sub) => ({
        accountId: sub,
        claims: async () => ({ sub, email: `${sub}@corp.example` }),
      }),
    });
    upstreamServer.on('request', upstream.callback());
    const upstreamAgent = new Agent({ connect: { ca: ca.chainPem } });
    agents.push(upstreamAgent);
    as = await createAuthorizationServer({
      storage,
      kek: KEK,
      clock: () => new Date(),
      logger: silent,
      issuer,
      mtlsUrl: issuer,
      audience: AUDIENCE,
      accessTokenTtlSeconds: 300,
      trustedCas: ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
      trustedProxies: [],
      fetcher,
      upstreamLogin: {
        issuer: upstreamIssuer,
        clientId: 'accredit',
        clientSecret: 'upstream-client-secret',
        scopes: 'openid email',
        label: 'Corp SSO',
        fetch: fetchWith(upstreamAgent) as typeof fetch,
      },
    });
    server.on('request', as.handle);
    clientAgent = new Agent({ connect: { ca: ca.chainPem, cert: cert.certificate_pem, key: keyPem } });
    const accounts = accountStore(storage.db, KEK);
    aliceId = (await accounts.add({ username: 'Alice', password: PASSWORD, name: 'Alice A.' }, now)).id;
    await accounts.add({ username: 'bob', password: PASSWORD }, now);
    bobTotp = (await accounts.enableTotp('bob', 'Accredit', now)).secret;
    metadata = await oauth.processDiscoveryResponse(
      new URL(issuer),
      await fetchWith(clientAgent)(`${issuer}/.well-known/oauth-authorization-server`),
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await clientAgent?.close();
    for (const a of agents) await a.close();
    upstreamServer?.closeAllConnections();
    upstreamServer?.close();
    callbackServer?.closeAllConnections();
    callbackServer?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await storage?.close();
    await target?.cleanup();
    await fetcher.close();
  });

  /** A browser session whose requests to the client's redirect URI are answered (and recorded) here. */
  async function session(): Promise<{ context: BrowserContext; page: Page; redirects: URL[] }> {
    const name = `session-${++sessions}`;
    const context = await browser.newContext({ ignoreHTTPSErrors: true, userAgent: `accredit-test ${name}` });
    const redirects: URL[] = [];
    callbacks.set(name, redirects);
    return { context, page: await context.newPage(), redirects };
  }

  /** PAR (RFC 9126) with PKCE S256 (RFC 7636), authenticated by the client's certificate (RFC 8705). */
  async function pushed(scope = 'accounts:read') {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const params = new URLSearchParams({
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      resource: AUDIENCE,
    });
    const response = await oauth.pushedAuthorizationRequest(
      metadata,
      client(),
      oauth.TlsClientAuth(),
      params,
      options(),
    );
    const { request_uri } = await oauth.processPushedAuthorizationResponse(metadata, client(), response);
    const url = new URL(metadata.authorization_endpoint!);
    url.searchParams.set('client_id', clientId);
    url.searchParams.set('request_uri', request_uri);
    return { url: url.href, verifier, state };
  }

  async function redeem(callback: URL, flow: { verifier: string; state: string }) {
    const params = oauth.validateAuthResponse(metadata, client(), callback, flow.state);
    const response = await oauth.authorizationCodeGrantRequest(
      metadata,
      client(),
      oauth.TlsClientAuth(),
      params,
      REDIRECT,
      flow.verifier,
      options(),
    );
    return oauth.processAuthorizationCodeResponse(metadata, client(), response);
  }

  async function signIn(page: Page, username: string, password: string, totp?: string) {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    if (totp !== undefined) await page.getByLabel('One-time code').fill(totp);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  test('ok/login and consent pages are served with a strict CSP, no script, and accessible forms', async () => {
    const { context, page } = await session();
    const flow = await pushed();
    const response = await page.goto(flow.url);
    assert.equal(response?.status(), 200);
    const headers = response!.headers();
    assert.equal(
      headers['content-security-policy'],
      `default-src 'none'; style-src 'self'; form-action 'self' ${REDIRECT} ${upstreamIssuer}; frame-ancestors 'none'; base-uri 'none'`,
    );
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['referrer-policy'], 'no-referrer');
    assert.equal(headers['cache-control'], 'no-store');
    const markup = await page.content();
    assert.doesNotMatch(markup, /<script|\sstyle=|\son[a-z]+=/i);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in');
    assert.match(markup, /Budget Planner/);
    assert.match(markup, /Acme Bank/);
    // The stylesheet loaded under the CSP (style-src 'self').
    const styled = await page
      .locator('button.primary')
      .evaluate(
        (b) =>
          (
            globalThis as unknown as { getComputedStyle: (e: unknown) => { backgroundColor: string } }
          ).getComputedStyle(b).backgroundColor,
      );
    assert.equal(styled, 'rgb(26, 79, 214)');
    await page.screenshot({ path: join(screenshots, 'login.png'), fullPage: true });
    await context.close();
  });

  test('err/a wrong password shows one generic message linked to the fields, the same as an unknown user', async () => {
    const { context, page } = await session();
    await page.goto((await pushed()).url);
    await signIn(page, 'alice', 'wrong password!!');
    const wrong = (await page.getByRole('alert').textContent())?.trim();
    assert.match(wrong ?? '', /username, password or one-time code is not right/);
    assert.equal(await page.getByLabel('Password').getAttribute('aria-describedby'), 'login-error');
    assert.equal(await page.getByLabel('Username').inputValue(), 'alice');
    await signIn(page, 'nobody-here', 'wrong password!!');
    assert.equal((await page.getByRole('alert').textContent())?.trim(), wrong, 'no account enumeration');
    await page.screenshot({ path: join(screenshots, 'login-error.png'), fullPage: true });
    await context.close();
  });

  test('err/a login form posted without its CSRF token, or with another interaction’s, is refused (403)', async () => {
    const { context, page } = await session();
    await page.goto((await pushed()).url);
    const action = new URL((await page.getAttribute('form', 'action'))!, page.url()).href;
    // Same browser, same interaction cookie: only the token is missing.
    const missing = await context.request.post(action, {
      form: { username: 'alice', password: PASSWORD },
      maxRedirects: 0,
    });
    assert.equal(missing.status(), 403);
    const other = await session();
    await other.page.goto((await pushed()).url);
    const foreignToken = await other.page.getAttribute('input[name=csrf]', 'value');
    const foreign = await context.request.post(action, {
      form: { csrf: foreignToken!, username: 'alice', password: PASSWORD },
      maxRedirects: 0,
    });
    assert.equal(foreign.status(), 403);
    // Only url-encoded forms, and small ones.
    const asJson = await context.request.post(action, {
      data: JSON.stringify({ username: 'alice' }),
      headers: { 'content-type': 'application/json' },
      maxRedirects: 0,
    });
    assert.equal(asJson.status(), 415);
    const huge = await context.request.post(action, {
      form: { csrf: 'x', username: 'a'.repeat(20_000) },
      maxRedirects: 0,
    });
    assert.equal(huge.status(), 413);
    // The genuine form still works afterwards.
    await signIn(page, 'alice', PASSWORD);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Allow access?');
    await other.context.close();
    await context.close();
  });

  test('ok/alice signs in, sees the client’s organisation and scopes in plain words, consents; the code is redeemed with PAR + PKCE + tls_client_auth; consent is remembered, revocation ends refresh', async () => {
    const first = await session();
    const flow = await pushed();
    await first.page.goto(flow.url);
    await signIn(first.page, 'ALICE', PASSWORD);
    const consent = await first.page.content();
    assert.match(consent, /Budget Planner/);
    assert.match(consent, /Acme Bank/);
    assert.match(consent, /Read the organisation’s accounts/, 'the catalog description of accounts:read');
    await first.page.screenshot({ path: join(screenshots, 'consent.png'), fullPage: true });
    await first.page.getByRole('button', { name: 'Allow' }).click();
    await first.page.waitForURL(`${REDIRECT}**`);
    assert.equal(first.redirects.length, 1);
    const tokens = await redeem(first.redirects[0]!, flow);
    const claims = decodeJwt(tokens.access_token);
    // RFC 9068 §2.2: sub is the end user for a code flow; client_id the client; RFC 8705 §3.1: bound.
    assert.equal(claims.sub, aliceId);
    assert.equal(claims.client_id, clientId);
    assert.equal(claims.aud, AUDIENCE);
    assert.equal(claims.scope, 'accounts:read');
    assert.ok((claims.cnf as Record<string, string>)['x5t#S256']);
    assert.ok(tokens.refresh_token, 'a refresh token for a client registered with refresh_token');

    // The same browser again: signed in, consent remembered → straight back with a code.
    const again = await pushed();
    await first.page.goto(again.url);
    await first.page.waitForURL(`${REDIRECT}**`);
    assert.equal((await redeem(first.redirects[1]!, again)).token_type.toLowerCase(), 'bearer');

    // A new browser session: alice signs in again, and her remembered consent skips the consent page.
    const second = await session();
    const third = await pushed();
    await second.page.goto(third.url);
    await signIn(second.page, 'alice', PASSWORD);
    await second.page.waitForURL(`${REDIRECT}**`);
    assert.equal(second.redirects.length, 1);
    await redeem(second.redirects[0]!, third);

    // The operator revokes the grant: its refresh tokens stop working (RFC 6749 §5.2 invalid_grant).
    const grants = grantStore(storage);
    const listed = await grants.list({ account: aliceId, clientId }, new Date());
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.username, 'alice');
    assert.equal(await grants.revoke(listed[0]!.grant_id), true);
    const refreshed = await oauth.refreshTokenGrantRequest(
      metadata,
      client(),
      oauth.TlsClientAuth(),
      tokens.refresh_token!,
      options(),
    );
    await assert.rejects(oauth.processRefreshTokenResponse(metadata, client(), refreshed), (err: unknown) => {
      assert.equal((err as { error?: string }).error, 'invalid_grant');
      return true;
    });
    // And the next authorization asks for consent again.
    await first.page.goto((await pushed()).url);
    assert.equal(await first.page.getByRole('heading', { level: 1 }).textContent(), 'Allow access?');
    await first.context.close();
    await second.context.close();
  });

  test('ok/bob signs in with his TOTP code; without it, or with a wrong one, the generic error', async () => {
    const { context, page, redirects } = await session();
    const flow = await pushed();
    await page.goto(flow.url);
    await signIn(page, 'bob', PASSWORD);
    assert.match((await page.getByRole('alert').textContent()) ?? '', /not right/);
    await signIn(page, 'bob', PASSWORD, '000000' === totpCode(bobTotp, new Date()) ? '111111' : '000000');
    assert.match((await page.getByRole('alert').textContent()) ?? '', /not right/);
    await signIn(page, 'bob', PASSWORD, totpCode(bobTotp, new Date()));
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${REDIRECT}**`);
    const tokens = await redeem(redirects[0]!, flow);
    assert.notEqual(decodeJwt(tokens.access_token).sub, aliceId);
    await context.close();
  });

  test('ok/carol signs in through the upstream OpenID Provider (openid-client, PKCE + state + nonce); her upstream iss + sub name a local account', async () => {
    const { context, page, redirects } = await session();
    const flow = await pushed();
    await page.goto(flow.url);
    await page.getByRole('button', { name: 'Sign in with Corp SSO' }).click();
    await page.waitForURL(`${upstreamIssuer}/**`);
    await page.locator('input[name=login]').fill('carol');
    await page.locator('input[name=password]').fill('anything');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Allow access?');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${REDIRECT}**`);
    const tokens = await redeem(redirects[0]!, flow);
    const sub = decodeJwt(tokens.access_token).sub!;
    const carol = await accountStore(storage.db, KEK).get(sub);
    assert.deepEqual(carol.upstream, { iss: upstreamIssuer, sub: 'carol' });
    assert.equal(carol.email, 'carol@corp.example');
    assert.equal(carol.password, false, 'no local password: the upstream is the only way in');
    await context.close();
  });

  test('err/an upstream callback with an unknown state is refused', async () => {
    const { context, page } = await session();
    const response = await page.goto(`${issuer}/interaction/upstream-callback?code=x&state=forged`);
    assert.equal(response?.status(), 400);
    assert.match(await page.content(), /did not work/);
    await context.close();
  });

  test('err/denying consent returns access_denied to the client (RFC 6749 §4.1.2.1)', async () => {
    const { context, page, redirects } = await session();
    await page.goto((await pushed()).url);
    await signIn(page, 'alice', PASSWORD);
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL(`${REDIRECT}**`);
    assert.equal(redirects[0]?.searchParams.get('error'), 'access_denied');
    assert.equal(redirects[0]?.searchParams.get('code'), null);
    await context.close();
  });
});
