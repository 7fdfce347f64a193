import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { type Browser, chromium } from 'playwright-core';
import { Agent, fetch as undiciFetch } from 'undici';
import { opensslKeyAndRequest, PlatformProcess } from '../support/platform-process.ts';

// Issue 14, done when: oauth4webapi drives the authorization code flow with PAR + PKCE through login and
// consent (Chromium, driven by playwright-core, on the platform's own pages), then calls the gateway (200).
const CHROMIUM = process.env.ACCREDIT_CHROMIUM ?? '/usr/bin/chromium';

describe('end-user login and consent on a running platform, then the gateway (issue 14)', {
  timeout: 180_000,
}, () => {
  let platform: PlatformProcess;
  let browser: Browser;
  let callback: Server;
  let redirectUri: string;
  let agent: Agent;
  let clientId: string;
  const landed: URL[] = [];
  const f = (name: string) => join(platform.dir, name);

  async function cli(args: string[]) {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `accredit ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  before(async () => {
    platform = await PlatformProcess.create();
    await platform.start(['--init']);
    // The client's redirection endpoint (the browser ignores its self-signed certificate).
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
        ...['-subj', '/CN=localhost', '-keyout', f('cb.key'), '-out', f('cb.crt')],
      ],
      { stdio: 'ignore' },
    );
    callback = createServer(
      { cert: readFileSync(f('cb.crt')), key: readFileSync(f('cb.key')) },
      (req, res) => {
        const url = new URL(req.url ?? '/', redirectUri);
        if (url.pathname === '/cb') landed.push(url);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('client callback');
      },
    );
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    redirectUri = `https://localhost:${(callback.address() as AddressInfo).port}/cb`;

    const org = (await cli(['org', 'create', '--name', 'Acme Bank'])).id as string;
    clientId = (
      await cli([
        ...['app', 'create', '--org', org, '--name', 'Budget Planner', '--roles', 'partner_reader'],
        ...['--auth', 'tls_client_auth', '--redirect-uri', redirectUri],
      ])
    ).client_id as string;
    const req = await opensslKeyAndRequest({
      key: f('planner.key'),
      out: f('planner.csr'),
      subject: '/CN=planner',
    });
    assert.equal(req.code, 0, req.stderr);
    await cli(['cert', 'issue', '--app', clientId, '--csr', f('planner.csr'), '--out', f('planner.crt')]);
    writeFileSync(f('alice.pw'), 'correct horse battery staple\n');
    await cli(['user', 'add', 'alice', '--password-file', f('alice.pw')]);
    agent = new Agent({
      connect: {
        ca: readFileSync(platform.caBundle),
        cert: readFileSync(f('planner.crt')),
        key: readFileSync(f('planner.key')),
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        ...['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
        ...['--disable-component-update', '--disable-sync', '--no-first-run'],
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await agent?.close();
    callback?.closeAllConnections();
    callback?.close();
    await platform?.stop();
    platform?.cleanup();
  });

  test('ok/PAR + PKCE, login and consent in Chromium, code redeemed with tls_client_auth; the gateway answers 200 for the user’s token', async () => {
    const options = {
      [oauth.customFetch]: (url: string, init?: RequestInit): Promise<Response> =>
        undiciFetch(url, { ...init, dispatcher: agent } as Parameters<
          typeof undiciFetch
        >[1]) as unknown as Promise<Response>,
    } as const;
    const issuer = new URL(platform.url);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
    const client = { client_id: clientId, use_mtls_endpoint_aliases: true };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const pushed = await oauth.processPushedAuthorizationResponse(
      as,
      client,
      await oauth.pushedAuthorizationRequest(
        as,
        client,
        oauth.TlsClientAuth(),
        new URLSearchParams({
          response_type: 'code',
          redirect_uri: redirectUri,
          scope: 'accounts:read',
          state,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        }),
        options,
      ),
    );
    const authorize = new URL(as.authorization_endpoint!);
    authorize.searchParams.set('client_id', clientId);
    authorize.searchParams.set('request_uri', pushed.request_uri);

    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(authorize.href);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    assert.match(await page.content(), /Acme Bank/);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${redirectUri}**`);
    await context.close();

    const params = oauth.validateAuthResponse(as, client, landed[0]!, state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(
        as,
        client,
        oauth.TlsClientAuth(),
        params,
        redirectUri,
        verifier,
        options,
      ),
    );
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.client_id, clientId);
    assert.match(String(claims.sub), /^acct_/, 'the end user, not the client');

    const api = await undiciFetch(`${platform.gatewayUrl}/v1/accounts`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
      dispatcher: agent,
    });
    assert.equal(api.status, 200, await api.clone().text());
    // Without the client's certificate the same token is refused (RFC 8705 §3: certificate-bound).
    const bare = new Agent({ connect: { ca: readFileSync(platform.caBundle) } });
    try {
      const stolen = await undiciFetch(`${platform.gatewayUrl}/v1/accounts`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
        dispatcher: bare,
      });
      assert.notEqual(stolen.status, 200);
    } finally {
      await bare.close();
    }
  });

  test('ok/PAR + PKCE + DPoP (private_key_jwt, no certificate), login and consent in Chromium; the DPoP-bound token gets 200 at the gateway', async () => {
    // A public-facing app with no client certificate: private_key_jwt authenticates, DPoP binds (RFC 9449).
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    writeFileSync(
      f('app-jwks.json'),
      JSON.stringify({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' }] }),
    );
    const org = (await cli(['org', 'create', '--name', 'Beta Credit'])).id as string;
    const appId = (
      await cli([
        ...['app', 'create', '--org', org, '--name', 'Mobile Budget', '--roles', 'partner_reader'],
        ...['--auth', 'private_key_jwt', '--jwks', f('app-jwks.json'), '--redirect-uri', redirectUri],
      ])
    ).client_id as string;
    // The operation accepts DPoP-bound tokens and needs no client certificate (catalog policy).
    await cli([
      ...['catalog', 'operation', 'update', '6d1f4a8e-0b7c-4f51-9a51-0c0a2f9d7e01'],
      ...['--mtls', 'optional', '--dpop', 'accepted'],
    ]);
    const plain = new Agent({ connect: { ca: readFileSync(platform.caBundle) } });
    try {
      const options = {
        [oauth.customFetch]: (url: string, init?: RequestInit): Promise<Response> =>
          undiciFetch(url, { ...init, dispatcher: plain } as Parameters<
            typeof undiciFetch
          >[1]) as unknown as Promise<Response>,
      } as const;
      const issuer = new URL(platform.url);
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
      const client: oauth.Client = { client_id: appId };
      const auth = oauth.PrivateKeyJwt({ key: keys.privateKey, kid: 'k1' });
      const dpopKeys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
        'sign',
        'verify',
      ])) as webcrypto.CryptoKeyPair;
      const DPoP = oauth.DPoP(client, dpopKeys);
      // RFC 9449 §8/§9: each server may first answer with the nonce to use; retry once with it.
      const withNonceRetry = async <T>(fn: () => Promise<T>): Promise<T> => {
        try {
          return await fn();
        } catch (err) {
          if (!oauth.isDPoPNonceError(err)) throw err;
          return fn();
        }
      };
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const challenge = await oauth.calculatePKCECodeChallenge(verifier);
      // RFC 9449 §10.1: a DPoP proof at PAR binds the code to the key (dpop_jkt).
      const pushed = await withNonceRetry(async () =>
        oauth.processPushedAuthorizationResponse(
          as,
          client,
          await oauth.pushedAuthorizationRequest(
            as,
            client,
            auth,
            new URLSearchParams({
              response_type: 'code',
              redirect_uri: redirectUri,
              scope: 'accounts:read',
              state,
              code_challenge: challenge,
              code_challenge_method: 'S256',
            }),
            { ...options, DPoP },
          ),
        ),
      );
      const authorize = new URL(as.authorization_endpoint!);
      authorize.searchParams.set('client_id', appId);
      authorize.searchParams.set('request_uri', pushed.request_uri);

      const before = landed.length;
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(authorize.href);
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('correct horse battery staple');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      assert.match(await page.content(), /Beta Credit/);
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL(`${redirectUri}**`);
      await context.close();
      assert.equal(landed.length, before + 1);

      const params = oauth.validateAuthResponse(as, client, landed.at(-1)!, state);
      const tokens = await withNonceRetry(async () =>
        oauth.processAuthorizationCodeResponse(
          as,
          client,
          await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, verifier, {
            ...options,
            DPoP,
          }),
        ),
      );
      assert.equal(tokens.token_type, 'dpop');
      const claims = decodeJwt(tokens.access_token);
      assert.match(String(claims.sub), /^acct_/, 'the end user, not the client');
      assert.equal(typeof (claims.cnf as { jkt?: unknown } | undefined)?.jkt, 'string');

      const api = await withNonceRetry(() =>
        oauth.protectedResourceRequest(
          tokens.access_token,
          'GET',
          new URL('/v1/accounts', platform.gatewayUrl),
          new Headers(),
          null,
          { ...options, DPoP },
        ),
      );
      assert.equal(api.status, 200, await api.clone().text());
      // Without the proof the same token is refused (RFC 9449 §7.2).
      const stolen = await undiciFetch(`${platform.gatewayUrl}/v1/accounts`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
        dispatcher: plain,
      });
      assert.equal(stolen.status, 401);
    } finally {
      await plain.close();
    }
  });
});
