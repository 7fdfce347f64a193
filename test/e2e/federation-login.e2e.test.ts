import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { Agent, fetch as undiciFetch } from 'undici';
import { obtainAuthorizationCode } from '../authorization-server/support/obtain-authorization-code.ts';
import {
  createTestKey,
  type TestEntity,
  type TestKey,
  type Topology,
} from '../federation/support/topology.ts';
import { startFederatedPlatform } from '../support/federated-platform.ts';
import type { PlatformProcess } from '../support/platform-process.ts';

interface Partner {
  entity: TestEntity;
  /** The RP's own key (in its openid_relying_party jwks), not its Federation Entity Key. */
  key: TestKey;
  redirectUri: string;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
// PKCE (RFC 7636 §4.2, S256).
const VERIFIER = oauth.generateRandomCodeVerifier();
const CHALLENGE = await oauth.calculatePKCECodeChallenge(VERIFIER);
// The seeded "list accounts" operation of the demo catalog.
const ACCOUNTS_OPERATION = '6d1f4a8e-0b7c-4f51-9a51-0c0a2f9d7e01';
const seconds = () => Math.floor(Date.now() / 1000);
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

// Issue 14: an OpenID Federation RP nobody registered (Trust Anchor → the platform as Intermediate → leaf) registers
// automatically at PAR (OpenID Federation 1.0 §12.1), its end user signs in and consents on the real pages, the RP
// redeems the code with private_key_jwt and a DPoP proof, and the DPoP-bound token calls the gateway. When the
// platform withdraws the subordinate (or the Trust Mark granting its roles), the registration ends at once.
describe('federation RP signs a user in end to end (automatic registration + login + DPoP)', {
  timeout: 240_000,
}, () => {
  let topology: Topology;
  let platform: PlatformProcess;
  let agent: Agent;
  let orgId: string;
  let trustMarkType: string;
  let metadata: oauth.AuthorizationServer;
  const f = (name: string) => join(platform.dir, name);
  const fetchTls = (url: string, init?: RequestInit) =>
    undiciFetch(url, { ...init, dispatcher: agent } as Parameters<
      typeof undiciFetch
    >[1]) as unknown as Promise<Response>;

  const cli = async (args: string[]) => {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  /** A leaf under the platform: subordinate of the organisation, Trust Mark, private_key_jwt RP metadata. */
  async function partner(name: string): Promise<Partner & { trustMarkId: string }> {
    const entity = await topology.addEntity(name);
    const key = await createTestKey(`${name}-rp-1`);
    const redirectUri = `https://${name}.rp.example/cb`;
    entity.authorityHints.push(platform.url);
    entity.metadata.openid_relying_party = {
      client_name: `Federated ${name}`,
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      jwks: { keys: [key.publicJwk] },
    };
    writeFileSync(f(`${name}.fedjwks`), JSON.stringify(entity.jwks()));
    await cli([
      ...['federation', 'subordinate', 'add', '--entity-id', entity.entityId, '--org', orgId],
      ...['--jwks', f(`${name}.fedjwks`), '--entity-types', 'openid_relying_party'],
    ]);
    const issued = await cli([
      'federation',
      'trust-mark',
      'issue',
      '--type',
      trustMarkType,
      '--sub',
      entity.entityId,
    ]);
    const mark = await fetchTls(
      `${platform.url}/federation/trust-mark?${new URLSearchParams({ trust_mark_type: trustMarkType, sub: entity.entityId })}`,
    );
    assert.equal(mark.status, 200);
    entity.addTrustMark(trustMarkType, await mark.text());
    return { entity, key, redirectUri, trustMarkId: String(issued.id) };
  }

  /** §12.1.1.1: a Request Object signed with the RP's key, addressed to the OP. */
  const requestObject = (p: Partner) =>
    new SignJWT({
      iss: p.entity.entityId,
      client_id: p.entity.entityId,
      aud: platform.url,
      jti: crypto.randomUUID(),
      iat: seconds(),
      exp: seconds() + 300,
      response_type: 'code',
      redirect_uri: p.redirectUri,
      scope: 'accounts:read',
      state: 'st-fed',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
    })
      .setProtectedHeader({ alg: 'ES256', kid: p.key.kid, typ: 'oauth-authz-req+jwt' })
      .sign(p.key.privateKey);

  /** private_key_jwt with the OP's Entity Identifier as its audience (§12.1.1.2, RFC 7523 §3). */
  const clientAssertion = (p: Partner) =>
    new SignJWT({
      iss: p.entity.entityId,
      sub: p.entity.entityId,
      aud: platform.url,
      jti: crypto.randomUUID(),
      iat: seconds(),
      exp: seconds() + 60,
    })
      .setProtectedHeader({ alg: 'ES256', kid: p.key.kid })
      .sign(p.key.privateKey);

  /** PAR with the client assertion and the signed Request Object: registers the leaf the first time. */
  async function push(p: Partner): Promise<Response> {
    return fetchTls(`${platform.mtlsUrl}/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: p.entity.entityId,
        client_assertion_type: JWT_BEARER,
        client_assertion: await clientAssertion(p),
        request: await requestObject(p),
      }).toString(),
    });
  }

  async function signIn(p: Partner, pages: string[] = []): Promise<string> {
    const pushed = await push(p);
    const body = (await pushed.json()) as Record<string, string>;
    assert.equal(pushed.status, 201, JSON.stringify(body));
    const { params } = await obtainAuthorizationCode({
      baseUrl: platform.url,
      clientId: p.entity.entityId,
      requestUri: body.request_uri!,
      dispatcher: agent,
      username: 'alice',
      password: 'correct horse battery staple',
      onPage: (html) => pages.push(html),
    });
    assert.equal(params.get('error'), null, params.toString());
    assert.equal(params.get('state'), 'st-fed');
    assert.equal(params.get('iss'), platform.url, 'RFC 9207');
    return params.get('code')!;
  }

  const newDpopKeys = async () =>
    (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;

  // RFC 9449 §8/§9: the first try at each server may be answered with a nonce to use; retry once with it.
  const withNonceRetry = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (!oauth.isDPoPNonceError(err)) throw err;
      return fn();
    }
  };

  /** The RP redeems the code with oauth4webapi: private_key_jwt with its RP key, DPoP-bound. */
  async function redeem(p: Partner, code: string, DPoP: oauth.DPoPHandle) {
    const client: oauth.Client = { client_id: p.entity.entityId };
    const callback = new URL(p.redirectUri);
    callback.search = new URLSearchParams({ code, state: 'st-fed', iss: platform.url }).toString();
    const params = oauth.validateAuthResponse(metadata, client, callback, 'st-fed');
    return withNonceRetry(async () =>
      oauth.processAuthorizationCodeResponse(
        metadata,
        client,
        await oauth.authorizationCodeGrantRequest(
          metadata,
          client,
          oauth.PrivateKeyJwt({
            key: p.key.privateKey.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']),
            kid: p.key.kid,
          }),
          params,
          p.redirectUri,
          VERIFIER,
          { DPoP, [oauth.customFetch]: fetchTls },
        ),
      ),
    );
  }

  const callGateway = (accessToken: string, DPoP: oauth.DPoPHandle) =>
    withNonceRetry(() =>
      oauth.protectedResourceRequest(
        accessToken,
        'GET',
        new URL('/v1/accounts', platform.gatewayUrl),
        new Headers(),
        null,
        { DPoP, [oauth.customFetch]: fetchTls },
      ),
    );

  /** RFC 6750 §3.1 / RFC 9449 §7.1: 401 with a DPoP challenge naming invalid_token. */
  const refusedAtGateway = (accessToken: string, DPoP: oauth.DPoPHandle) =>
    assert.rejects(
      callGateway(accessToken, DPoP),
      (err: unknown) =>
        err instanceof oauth.WWWAuthenticateChallengeError &&
        err.status === 401 &&
        err.cause.some((c) => c.scheme === 'dpop' && c.parameters.error === 'invalid_token'),
    );

  before(async () => {
    ({ topology, platform, trustMarkType } = await startFederatedPlatform());
    agent = new Agent({ connect: { ca: readFileSync(platform.caBundle, 'utf8') } });
    orgId = String((await cli(['org', 'create', '--name', 'Federated Bank'])).id);
    writeFileSync(f('alice.pw'), 'correct horse battery staple\n');
    await cli(['user', 'add', 'alice', '--password-file', f('alice.pw')]);
    // The operation accepts DPoP-bound tokens and needs no client certificate (catalog policy).
    await cli([
      ...['catalog', 'operation', 'update', ACCOUNTS_OPERATION],
      ...['--dpop', 'accepted', '--mtls', 'optional'],
    ]);
    const issuer = new URL(platform.url);
    metadata = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { [oauth.customFetch]: fetchTls }),
    );
  });

  after(async () => {
    await agent?.close();
    await platform?.stop();
    platform?.cleanup();
    await topology?.close();
  });

  test('ok/registers at PAR, alice signs in and consents, private_key_jwt + DPoP redeem the code, the gateway answers 200', async () => {
    const rp = await partner('rp-login');
    const pages: string[] = [];
    const code = await signIn(rp, pages);
    // The consent page names the RP (its resolved metadata), the organisation of the subordinate its chain passes
    // through, and the scope it asked for.
    const consent = pages.find((html) => html.includes('/consent"'));
    assert.ok(consent, 'alice was asked to consent');
    assert.match(consent, /Federated rp-login/);
    assert.match(consent, /Federated Bank/);
    assert.match(consent, /accounts:read/);
    const dpopKeys = await newDpopKeys();
    const DPoP = oauth.DPoP({ client_id: rp.entity.entityId } as oauth.Client, dpopKeys);
    const token = await redeem(rp, code, DPoP);
    assert.equal(token.token_type, 'dpop');
    const claims = claimsOf(token.access_token);
    // Registered as a federation client of the subordinate's organisation, its scopes those of its roles.
    const app = await cli(['app', 'show', rp.entity.entityId]);
    assert.equal(app.registration_type, 'federation');
    assert.ok((app.scopes as string[]).includes('accounts:read'), JSON.stringify(app.scopes));
    assert.deepEqual(claims.roles, app.roles);
    const user = (await cli(['user', 'list'])) as unknown as Array<{ id: string; username: string }>;
    const alice = (Array.isArray(user) ? user : (user as { items: typeof user }).items).find(
      (u) => u.username === 'alice',
    );
    assert.ok(alice, 'alice is listed');
    assert.equal(claims.sub, alice.id, 'the token is the end user’s (RFC 9068 §2.2)');
    assert.equal(claims.client_id, rp.entity.entityId, 'client_id is the RP’s Entity Identifier');
    assert.equal(claims.org_id, orgId, 'the subordinate’s organisation');
    assert.deepEqual(claims.cnf, { jkt: await calculateJwkThumbprint(await exportJWK(dpopKeys.publicKey)) });
    assert.match(String(claims.scope), /\baccounts:read\b/);

    const api = await callGateway(token.access_token, DPoP);
    assert.equal(api.status, 200, await api.clone().text());

    // The same token without its proof (as a Bearer token) is refused (RFC 9449 §7.2).
    const bearer = await fetchTls(new URL('/v1/accounts', platform.gatewayUrl).href, {
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    assert.equal(bearer.status, 401);
  });

  test('ok/a signed Request Object at the authorization endpoint alone registers the leaf; login and DPoP redemption follow', async () => {
    const rp = await partner('rp-by-value');
    const { params } = await obtainAuthorizationCode({
      baseUrl: platform.url,
      clientId: rp.entity.entityId,
      request: await requestObject(rp),
      dispatcher: agent,
      username: 'alice',
      password: 'correct horse battery staple',
    });
    assert.equal(params.get('error'), null, params.toString());
    assert.equal(params.get('iss'), platform.url);
    const DPoP = oauth.DPoP({ client_id: rp.entity.entityId } as oauth.Client, await newDpopKeys());
    const token = await redeem(rp, params.get('code')!, DPoP);
    assert.equal(claimsOf(token.access_token).client_id, rp.entity.entityId);
    assert.equal((await callGateway(token.access_token, DPoP)).status, 200);
  });

  test('fail/the code redeemed with a client assertion signed by a key not in the RP metadata → invalid_client', async () => {
    const rp = await partner('rp-impostor');
    const code = await signIn(rp);
    const impostor = await createTestKey('impostor-key');
    const DPoP = oauth.DPoP({ client_id: rp.entity.entityId } as oauth.Client, await newDpopKeys());
    await assert.rejects(
      redeem({ ...rp, key: { ...impostor, kid: rp.key.kid } }, code, DPoP),
      (err: unknown) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_client',
    );
  });

  test('fail/after the platform removes the subordinate, the next token request and gateway call are refused', async () => {
    const rp = await partner('rp-removed');
    const code = await signIn(rp);
    const DPoP = oauth.DPoP({ client_id: rp.entity.entityId } as oauth.Client, await newDpopKeys());
    const token = await redeem(rp, code, DPoP);
    assert.equal((await callGateway(token.access_token, DPoP)).status, 200);

    // Another code, obtained while registered, is not redeemable once the registration ended.
    const pending = await signIn(rp);
    await cli(['federation', 'subordinate', 'remove', rp.entity.entityId, '--reason', 'contract ended']);
    await assert.rejects(
      redeem(rp, pending, DPoP),
      (err: unknown) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_client',
    );
    await refusedAtGateway(token.access_token, DPoP);
    // No Trust Chain through the platform any more: it cannot register again (§12.1.1.1).
    const again = await push(rp);
    assert.equal(again.status, 400);
    assert.equal(((await again.json()) as { error: string }).error, 'invalid_trust_chain');
  });

  test('fail/after the platform revokes the Trust Mark granting its roles, the registration ends', async () => {
    const rp = await partner('rp-unmarked');
    const code = await signIn(rp);
    const DPoP = oauth.DPoP({ client_id: rp.entity.entityId } as oauth.Client, await newDpopKeys());
    const token = await redeem(rp, code, DPoP);
    assert.equal((await callGateway(token.access_token, DPoP)).status, 200);

    const pending = await signIn(rp);
    await cli(['federation', 'trust-mark', 'revoke', rp.trustMarkId, '--reason', 'accreditation withdrawn']);
    await assert.rejects(
      redeem(rp, pending, DPoP),
      (err: unknown) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_client',
    );
    await refusedAtGateway(token.access_token, DPoP);
  });
});
