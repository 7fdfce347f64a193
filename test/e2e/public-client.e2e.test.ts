import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { Agent, fetch as undiciFetch } from 'undici';
import { obtainAuthorizationCode } from '../authorization-server/support/obtain-authorization-code.ts';
import { PlatformProcess } from '../support/platform-process.ts';

// Issue 14, public clients: `accredit app create --auth none --redirect-uri …` on a real `accredit serve`, the
// code flow with PAR + PKCE + DPoP through oauth4webapi (oauth.None()), the end user on the real login pages,
// the DPoP-bound token accepted by the gateway, and a refresh with the same key whose new token works too.
const CALLBACK = 'https://app.acme.example/cb';
const PASSWORD = 'correct horse battery staple';

describe('a public client on a running platform (issue 14)', { timeout: 120_000 }, () => {
  let platform: PlatformProcess;
  let agent: Agent;
  let clientId: string;
  const fetchTls = (url: string, init?: RequestInit) =>
    undiciFetch(url, { ...init, dispatcher: agent } as Parameters<
      typeof undiciFetch
    >[1]) as unknown as Promise<Response>;
  const cli = async (args: string[]) => {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `accredit ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const withNonceRetry = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (!oauth.isDPoPNonceError(err)) throw err;
      return fn();
    }
  };

  before(async () => {
    platform = await PlatformProcess.create();
    await platform.start(['--init']);
    agent = new Agent({ connect: { ca: readFileSync(platform.caBundle, 'utf8') } });
    const org = String((await cli(['org', 'create', '--name', 'Acme Bank'])).id);
    const created = await cli([
      ...['app', 'create', '--org', org, '--name', 'Budget app', '--roles', 'partner_reader'],
      ...['--auth', 'none', '--redirect-uri', CALLBACK],
    ]);
    clientId = String(created.client_id);
    assert.equal(created.auth_method, 'none');
    writeFileSync(join(platform.dir, 'alice.pw'), `${PASSWORD}\n`);
    await cli(['user', 'add', 'alice', '--password-file', join(platform.dir, 'alice.pw')]);
    // The operation accepts DPoP-bound tokens and needs no certificate (catalog policy).
    await cli([
      ...['catalog', 'operation', 'update', '6d1f4a8e-0b7c-4f51-9a51-0c0a2f9d7e01'],
      ...['--mtls', 'optional', '--dpop', 'accepted'],
    ]);
  });

  after(async () => {
    await agent?.close();
    await platform?.stop();
    platform?.cleanup();
  });

  test('ok/PAR + PKCE + DPoP with auth none → the gateway answers 200; refreshed with the same key → 200 again', async () => {
    const issuer = new URL(platform.url);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { [oauth.customFetch]: fetchTls }),
    );
    const client: oauth.Client = { client_id: clientId };
    const auth = oauth.None();
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const DPoP = oauth.DPoP(client, keys);
    const options = { DPoP, [oauth.customFetch]: fetchTls };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const params = new URLSearchParams({
      response_type: 'code',
      redirect_uri: CALLBACK,
      scope: 'accounts:read',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const pushed = await withNonceRetry(async () =>
      oauth.processPushedAuthorizationResponse(
        as,
        client,
        await oauth.pushedAuthorizationRequest(as, client, auth, params, options),
      ),
    );
    const { params: redirect } = await obtainAuthorizationCode({
      baseUrl: platform.url,
      clientId,
      requestUri: pushed.request_uri,
      dispatcher: agent,
      username: 'alice',
      password: PASSWORD,
    });
    const callback = oauth.validateAuthResponse(as, client, redirect, state);
    const tokens = await withNonceRetry(async () =>
      oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(as, client, auth, callback, CALLBACK, verifier, options),
      ),
    );
    assert.equal(tokens.token_type, 'dpop');
    const jkt = await calculateJwkThumbprint(await exportJWK(keys.publicKey));
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(claims.cnf, { jkt });
    assert.ok(tokens.refresh_token);

    const url = new URL('/v1/accounts', platform.gatewayUrl);
    const call = (accessToken: string) =>
      withNonceRetry(() =>
        oauth.protectedResourceRequest(accessToken, 'GET', url, new Headers(), null, options),
      );
    const first = await call(tokens.access_token);
    assert.equal(first.status, 200, await first.clone().text());

    const refreshed = await withNonceRetry(async () =>
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token!, options),
      ),
    );
    assert.equal(refreshed.token_type, 'dpop');
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    const second = await call(refreshed.access_token);
    assert.equal(second.status, 200, await second.clone().text());

    // RFC 9449 §7.2: the public client's token as a Bearer token is refused.
    const bearer = await fetchTls(url.href, {
      headers: { authorization: `Bearer ${refreshed.access_token}` },
    });
    assert.equal(bearer.status, 401);
  });
});
