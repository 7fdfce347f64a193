import assert from 'node:assert/strict';
import { hkdfSync, randomUUID, webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, type JWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { deriveDpopNonceSecret } from '../../src/authorization-server/dpop/index.ts';
import { createAuthorizationServer } from '../../src/authorization-server/index.ts';
import { createApplication, createOrganisation, seedCatalog } from '../../src/directory/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import { createStorageReplayCache, openStorage, type Storage } from '../../src/storage/index.ts';
import { csrWithKey, serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

// RFC 9449 at the token and PAR endpoints, over real TLS, on two authorization server nodes sharing one database
// (two storage handles): every §4.3 check with its exact error, server nonces valid on both nodes, a jti replay
// refused across them, and oauth4webapi's DPoP flow with private_key_jwt and no certificate.
const [target] = (await engineTargets()).filter((t) => t.name === 'sqlite');
const ISSUER = 'https://as.accredit.test';
const AUDIENCE = 'https://api.accredit.test';
const silent = pino({ level: 'silent' });
const fetcher = testPartnerFetcher();

type KeyPair = webcrypto.CryptoKeyPair;
const ecKeys = async (): Promise<KeyPair> =>
  (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as KeyPair;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

interface Node {
  server: Server;
  url: string;
  storage: Storage;
}

describe('RFC 9449 DPoP at the token and PAR endpoints', { timeout: 120_000 }, () => {
  const nodes: Node[] = [];
  const agents: Agent[] = [];
  let ca: CertificateAuthority;
  let jwtClient: { clientId: string; keys: KeyPair };
  let boundClient: { clientId: string; keys: KeyPair };
  let webClient: { clientId: string; keys: KeyPair };
  let mtlsClient: { clientId: string; agent: Agent };
  let anonymous: Agent;
  let dpopKeys: KeyPair;
  let dpopJwk: JWK;

  const fetchWith =
    (agent: Agent) =>
    (url: string, init?: RequestInit): Promise<Response> =>
      undiciFetch(url, { ...init, dispatcher: agent } as Parameters<
        typeof undiciFetch
      >[1]) as unknown as Promise<Response>;

  function agent(credential?: { certPem: string; keyPem: string }): Agent {
    const a = new Agent({
      connect: { ca: ca.chainPem, ...(credential && { cert: credential.certPem, key: credential.keyPem }) },
    });
    agents.push(a);
    return a;
  }

  before(async () => {
    const options = target!.freshOptions();
    const first = await openStorage(options);
    await first.transaction((tx) => seedCatalog(tx));
    ca = await installCa(first);
    const now = new Date();
    const meta = { actor: 'operator:test', now };
    await first.db
      .insertInto('signing_keys')
      .values(await createSigningKey('access_token', 'ES256', KEK, now))
      .execute();
    const org = await first.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, meta));
    const jwtApp = async (
      name: string,
      extra: Record<string, unknown>,
      registrationType: 'manual' | 'dynamic' = 'manual',
    ) => {
      const keys = await ecKeys();
      const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
      const clientId = await first.transaction((tx) =>
        createApplication(
          tx,
          {
            orgId: org,
            name,
            roles: ['partner_reader'],
            authMethod: 'private_key_jwt',
            registrationType,
            metadata: { jwks: { keys: [jwk] }, ...extra },
          },
          meta,
        ),
      );
      return { clientId, keys };
    };
    jwtClient = await jwtApp('Reporting', {});
    boundClient = await jwtApp('Always DPoP', { dpop_bound_access_tokens: true });
    // A client of the authorization code grant (dynamic registrations may have one): PAR accepts its requests.
    webClient = await jwtApp(
      'Web',
      { grant_types: ['authorization_code'], redirect_uris: ['https://client.example/cb'] },
      'dynamic',
    );
    const mtlsId = await first.transaction((tx) =>
      createApplication(
        tx,
        { orgId: org, name: 'Payments', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
        meta,
      ),
    );
    const { csrPem, keyPem } = await csrWithKey();
    const cert = await first.transaction((tx) => ca.issue(tx, { clientId: mtlsId, csrPem }, meta));
    mtlsClient = { clientId: mtlsId, agent: agent({ certPem: cert.certificate_pem, keyPem }) };
    anonymous = agent();

    // Two nodes: two storage handles on one database, each with its own replay cache handle on it.
    // A third node on the same database with requireNonce: never (config dpop.requireNonce).
    const nodeSettings = [
      [first, 'always'],
      [await openStorage(options), 'always'],
      [await openStorage(options), 'never'],
    ] as const;
    for (const [storage, requireNonce] of nodeSettings) {
      const server = createServer({
        ...(await serverTlsFrom(ca)),
        requestCert: true,
        rejectUnauthorized: false,
        ca: ca.chainPem,
        minVersion: 'TLSv1.2',
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `https://localhost:${(server.address() as AddressInfo).port}`;
      const as = await createAuthorizationServer({
        storage,
        kek: KEK,
        clock: () => new Date(),
        logger: silent,
        issuer: ISSUER,
        mtlsUrl: url,
        audience: AUDIENCE,
        accessTokenTtlSeconds: 300,
        trustedCas: ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
        trustedProxies: [],
        fetcher,
        dpop: { requireNonce, replayCache: createStorageReplayCache(storage.db) },
      });
      server.on('request', as.handle);
      nodes.push({ server, url, storage });
    }
    dpopKeys = await ecKeys();
    dpopJwk = await exportJWK(dpopKeys.publicKey);
  });

  after(async () => {
    for (const a of agents) await a.close();
    for (const node of nodes) {
      node.server.closeAllConnections();
      await new Promise<void>((resolve) => node.server.close(() => resolve()));
      await node.storage.close();
    }
    await target?.cleanup();
    await fetcher.close();
  });

  /** A client assertion (RFC 7523) for one request: a fresh jti each time. */
  const assertion = (client: { clientId: string; keys: KeyPair }) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(client.clientId)
      .setSubject(client.clientId)
      .setAudience(ISSUER)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(client.keys.privateKey);

  interface ProofOptions {
    header?: Record<string, unknown>;
    claims?: Record<string, unknown>;
    omit?: string[];
    key?: webcrypto.CryptoKey;
  }

  /** A DPoP proof (RFC 9449 §4.2) for POST `htu`, with whatever a test changes. */
  async function proof(htu: string, nonce: string | undefined, o: ProofOptions = {}): Promise<string> {
    const claims: Record<string, unknown> = {
      htm: 'POST',
      htu,
      jti: randomUUID(),
      iat: Math.floor(Date.now() / 1000),
      ...(nonce !== undefined && { nonce }),
      ...o.claims,
    };
    for (const name of o.omit ?? []) delete claims[name];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: dpopJwk, ...o.header } as never)
      .sign(o.key ?? dpopKeys.privateKey);
  }

  async function tokenRequest(
    node: Node,
    dpop: string | string[] | undefined,
    options: { via?: Agent; client?: { clientId: string; keys: KeyPair } } = {},
  ) {
    const client = options.client ?? jwtClient;
    const headers: [string, string][] = [['content-type', 'application/x-www-form-urlencoded']];
    for (const value of dpop === undefined ? [] : [dpop].flat()) headers.push(['dpop', value]);
    const response = await fetchWith(options.via ?? anonymous)(`${node.url}/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(client),
      }).toString(),
    });
    return {
      status: response.status,
      nonce: response.headers.get('dpop-nonce'),
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  /** A nonce from `node` (RFC 9449 §8): the answer to a proof without one. */
  async function nonceFrom(node: Node): Promise<string> {
    const answer = await tokenRequest(node, await proof(`${node.url}/token`, undefined));
    assert.equal(answer.body.error, 'use_dpop_nonce', JSON.stringify(answer.body));
    assert.ok(answer.nonce);
    return answer.nonce;
  }

  describe('ok/the reported failures', () => {
    test('ok/oauth4webapi: client credentials + DPoP with private_key_jwt and no certificate, nonce retry, introspection shows cnf.jkt', async () => {
      const node = nodes[0]!;
      const response = await fetchWith(anonymous)(`${node.url}/.well-known/oauth-authorization-server`);
      const metadata = await oauth.processDiscoveryResponse(new URL(ISSUER), response);
      assert.deepEqual(metadata.dpop_signing_alg_values_supported, ['ES256', 'ES384', 'PS256', 'EdDSA']);
      const client = { client_id: jwtClient.clientId, use_mtls_endpoint_aliases: true };
      const auth = oauth.PrivateKeyJwt(jwtClient.keys.privateKey);
      const DPoP = oauth.DPoP(client as oauth.Client, dpopKeys);
      const grant = () =>
        oauth.clientCredentialsGrantRequest(metadata, client, auth, new URLSearchParams(), {
          DPoP,
          [oauth.customFetch]: fetchWith(anonymous),
        });
      let result: oauth.TokenEndpointResponse;
      let retried = false;
      try {
        result = await oauth.processClientCredentialsResponse(metadata, client, await grant());
      } catch (err) {
        // RFC 9449 §8: the first proof has no nonce; the handle learned it from DPoP-Nonce, one retry.
        assert.ok(oauth.isDPoPNonceError(err), String(err));
        retried = true;
        result = await oauth.processClientCredentialsResponse(metadata, client, await grant());
      }
      assert.equal(retried, true);
      assert.equal(result.token_type, 'dpop');
      const jkt = await calculateJwkThumbprint(dpopJwk);
      const claims = claimsOf(result.access_token);
      // RFC 9449 §6.1: cnf.jkt, the only confirmation; still an RFC 9068 JWT for the gateway.
      assert.deepEqual(claims.cnf, { jkt });
      assert.equal(claims.aud, AUDIENCE);
      const introspected = await oauth.processIntrospectionResponse(
        metadata,
        client,
        await oauth.introspectionRequest(metadata, client, auth, result.access_token, {
          [oauth.customFetch]: fetchWith(anonymous),
        }),
      );
      assert.equal(introspected.active, true);
      assert.equal(introspected.token_type, 'DPoP');
      assert.deepEqual(introspected.cnf, { jkt });
    });

    test('ok/a certificate that authenticates the client plus a DPoP proof: one binding, the DPoP key', async () => {
      const node = nodes[0]!;
      const nonce = await nonceFrom(node);
      const response = await fetchWith(mtlsClient.agent)(`${node.url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          dpop: await proof(`${node.url}/token`, nonce),
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: mtlsClient.clientId,
        }).toString(),
      });
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.token_type, 'DPoP');
      assert.deepEqual(claimsOf(String(body.access_token)).cnf, {
        jkt: await calculateJwkThumbprint(dpopJwk),
      });
    });

    test('ok/the same certificate client without a proof: still a certificate-bound Bearer token', async () => {
      const node = nodes[0]!;
      const response = await fetchWith(mtlsClient.agent)(`${node.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: mtlsClient.clientId,
        }).toString(),
      });
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.token_type, 'Bearer');
      assert.deepEqual(Object.keys(claimsOf(String(body.access_token)).cnf as object), ['x5t#S256']);
    });

    test('ok/a nonce one node handed out is good on the other (stateless, KEK-derived secret)', async () => {
      const nonce = await nonceFrom(nodes[0]!);
      const answer = await tokenRequest(nodes[1]!, await proof(`${nodes[1]!.url}/token`, nonce));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.token_type, 'DPoP');
    });

    test('ok/requireNonce never: a fresh proof without a nonce is accepted; fail/a bad nonce is still refused', async () => {
      const node = nodes[2]!;
      const ok = await tokenRequest(node, await proof(`${node.url}/token`, undefined));
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.token_type, 'DPoP');
      const bad = await tokenRequest(node, await proof(`${node.url}/token`, 'bm90LWEtbm9uY2U'));
      assert.equal(bad.body.error, 'use_dpop_nonce', JSON.stringify(bad.body));
      // Without a nonce, the replay cache alone keeps a proof to one use (§11.1).
      const dpop = await proof(`${node.url}/token`, undefined);
      assert.equal((await tokenRequest(node, dpop)).status, 200);
      const again = await tokenRequest(node, dpop);
      assert.equal(again.body.error, 'invalid_dpop_proof');
    });

    test('ok/htu is compared without its query and fragment (RFC 9449 §4.3 step 9)', async () => {
      const node = nodes[0]!;
      const nonce = await nonceFrom(node);
      const answer = await tokenRequest(node, await proof(`${node.url}/token?x=1#f`, nonce));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    });

    test('fail/dpop_bound_access_tokens (RFC 9449 §5.2): a token request without a proof is refused', async () => {
      const answer = await tokenRequest(nodes[0]!, undefined, { client: boundClient });
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error, 'invalid_grant', JSON.stringify(answer.body));
      assert.match(String(answer.body.error_description), /a DPoP proof is required.*RFC 9449 §5.2/);
      const nonce = await nonceFrom(nodes[0]!);
      const ok = await tokenRequest(nodes[0]!, await proof(`${nodes[0]!.url}/token`, nonce), {
        client: boundClient,
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.token_type, 'DPoP');
    });
  });

  describe('fail/RFC 9449 §4.3 checks at the token endpoint, each with its error', () => {
    const noneHeader = (htu: string, nonce: string) =>
      `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: dpopJwk })}.${b64({
        htm: 'POST',
        htu,
        jti: randomUUID(),
        iat: Math.floor(Date.now() / 1000),
        nonce,
      })}.`;
    const now = () => Math.floor(Date.now() / 1000);
    const cases: {
      name: string;
      make: (htu: string, nonce: string) => Promise<string | string[]>;
      error: 'invalid_dpop_proof' | 'use_dpop_nonce';
    }[] = [
      {
        name: 'step 1: two DPoP headers',
        make: async (htu, nonce) => [await proof(htu, nonce), await proof(htu, nonce)],
        error: 'invalid_dpop_proof',
      },
      { name: 'step 2: not a JWT', make: async () => 'not-a-jwt', error: 'invalid_dpop_proof' },
      {
        name: 'step 4: typ jwt instead of dpop+jwt',
        make: (htu, nonce) => proof(htu, nonce, { header: { typ: 'JWT' } }),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 5: alg none',
        make: async (htu, nonce) => noneHeader(htu, nonce),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 5: alg HS256 (a MAC)',
        make: async (htu, nonce) => {
          const secret = new Uint8Array(32).fill(7);
          return new SignJWT({ htm: 'POST', htu, jti: randomUUID(), iat: now(), nonce })
            .setProtectedHeader({
              alg: 'HS256',
              typ: 'dpop+jwt',
              jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') },
            } as never)
            .sign(secret);
        },
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 7: a private key in the jwk header',
        make: async (htu, nonce) =>
          proof(htu, nonce, { header: { jwk: await exportJWK(dpopKeys.privateKey) } }),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 6: signature by another key than the jwk header',
        make: async (htu, nonce) => proof(htu, nonce, { key: (await ecKeys()).privateKey }),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 8: htm missing',
        make: (htu, nonce) => proof(htu, nonce, { omit: ['htm'] }),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 8: htm GET for a POST',
        make: (htu, nonce) => proof(htu, nonce, { claims: { htm: 'GET' } }),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 9: htu of another host',
        make: (htu, nonce) => proof(htu.replace('localhost', '127.0.0.1'), nonce),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 9: htu of another endpoint',
        make: (htu, nonce) => proof(htu.replace('/token', '/request'), nonce),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 9: htu missing',
        make: (htu, nonce) => proof(htu, nonce, { omit: ['htu'] }),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 11: iat 10 minutes old, with a valid nonce',
        make: (htu, nonce) => proof(htu, nonce, { claims: { iat: now() - 600 } }),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 11: iat 2 minutes in the future',
        make: (htu, nonce) => proof(htu, nonce, { claims: { iat: now() + 120 } }),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 11: iat missing',
        make: (htu, nonce) => proof(htu, nonce, { omit: ['iat'] }),
        error: 'invalid_dpop_proof',
      },
      {
        name: '§4.2: jti missing',
        make: (htu, nonce) => proof(htu, nonce, { omit: ['jti'] }),
        error: 'invalid_dpop_proof',
      },
      {
        name: 'step 10: nonce missing',
        make: (htu) => proof(htu, undefined),
        error: 'use_dpop_nonce',
      },
      {
        name: 'step 10: a nonce this server never made',
        make: (htu) => proof(htu, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
        error: 'use_dpop_nonce',
      },
    ];
    for (const c of cases) {
      test(`fail/${c.name} → ${c.error}`, async () => {
        const node = nodes[0]!;
        const nonce = await nonceFrom(node);
        const answer = await tokenRequest(node, await c.make(`${node.url}/token`, nonce));
        assert.equal(answer.status, 400, JSON.stringify(answer.body));
        assert.equal(answer.body.error, c.error, JSON.stringify(answer.body));
        assert.equal('access_token' in answer.body, false);
        // RFC 9449 §8: use_dpop_nonce always comes with the nonce to use.
        if (c.error === 'use_dpop_nonce') assert.ok(answer.nonce);
      });
    }

    // oidc-provider's stateless nonce of a one-minute step under the KEK-derived secret; the current step's value
    // is accepted (which shows this is the right derivation), one from ten minutes ago is not.
    const nonceAt = (step: number) => {
      const salt = Buffer.alloc(8);
      salt.writeBigUInt64BE(BigInt(step));
      return Buffer.from(hkdfSync('sha256', deriveDpopNonceSecret(KEK), salt, 'DPoP', 32)).toString(
        'base64url',
      );
    };
    const step = () => Math.floor(Date.now() / 60_000);

    test('ok/a nonce of the current step, derived from the KEK, is accepted', async () => {
      const node = nodes[0]!;
      const answer = await tokenRequest(node, await proof(`${node.url}/token`, nonceAt(step())));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    });

    test('fail/step 10: a nonce ten minutes old → use_dpop_nonce with a fresh DPoP-Nonce', async () => {
      const node = nodes[0]!;
      const stale = nonceAt(step() - 10);
      const answer = await tokenRequest(node, await proof(`${node.url}/token`, stale));
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'use_dpop_nonce');
      assert.ok(answer.nonce);
      assert.notEqual(answer.nonce, stale);
    });

    test('fail/§11.1: a replayed proof on the same node → invalid_dpop_proof', async () => {
      const node = nodes[0]!;
      const dpop = await proof(`${node.url}/token`, await nonceFrom(node));
      assert.equal((await tokenRequest(node, dpop)).status, 200);
      const again = await tokenRequest(node, dpop);
      assert.equal(again.status, 400);
      assert.equal(again.body.error, 'invalid_dpop_proof');
      assert.match(String(again.body.error_description), /jti was already used/);
    });

    test('fail/§11.1: a proof used on one node and replayed on the other → invalid_dpop_proof', async () => {
      const [a, b] = [nodes[0]!, nodes[1]!];
      // Both nodes serve the same URL space: the proof names node a's token endpoint; node b's host differs,
      // so replay it to b under a's URL through b's socket via the Host a client would send.
      const dpop = await proof(`${a.url}/token`, await nonceFrom(a));
      assert.equal((await tokenRequest(a, dpop)).status, 200);
      const response = await fetchWith(anonymous)(`${b.url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          host: new URL(a.url).host,
          dpop,
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: jwtClient.clientId,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: await assertion(jwtClient),
        }).toString(),
      });
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 400);
      assert.equal(body.error, 'invalid_dpop_proof');
      assert.match(String(body.error_description), /jti was already used/);
    });

    test('fail/§11.1: two concurrent uses of one proof on two nodes: exactly one token', async () => {
      const [a, b] = [nodes[0]!, nodes[1]!];
      const dpop = await proof(`${a.url}/token`, await nonceFrom(a));
      const bodies = await Promise.all(
        [a, b, a, b].map(async (node) => {
          const response = await fetchWith(anonymous)(`${node.url}/token`, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              host: new URL(a.url).host,
              dpop,
            },
            body: new URLSearchParams({
              grant_type: 'client_credentials',
              client_id: jwtClient.clientId,
              client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
              client_assertion: await assertion(jwtClient),
            }).toString(),
          });
          return (await response.json()) as Record<string, unknown>;
        }),
      );
      // What each answered, without the token itself, for a failure's message.
      const answers = JSON.stringify(
        bodies.map((body) => (typeof body.access_token === 'string' ? 'token' : body)),
      );
      assert.equal(bodies.filter((body) => typeof body.access_token === 'string').length, 1, answers);
      assert.equal(bodies.filter((body) => body.error === 'invalid_dpop_proof').length, 3, answers);
    });
  });

  describe('fail/RFC 9449 at the PAR endpoint (RFC 9126 + §10)', () => {
    const par = async (node: Node, dpop: string | undefined, dpopJkt?: string) => {
      const response = await fetchWith(anonymous)(`${node.url}/request`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(dpop !== undefined && { dpop }),
        },
        body: new URLSearchParams({
          client_id: webClient.clientId,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: await assertion(webClient),
          response_type: 'code',
          redirect_uri: 'https://client.example/cb',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
          ...(dpopJkt !== undefined && { dpop_jkt: dpopJkt }),
        }).toString(),
      });
      return {
        status: response.status,
        nonce: response.headers.get('dpop-nonce'),
        body: (await response.json()) as Record<string, unknown>,
      };
    };

    test('ok/a valid proof at PAR: the request is pushed (its key becomes dpop_jkt, §10.1)', async () => {
      const node = nodes[0]!;
      const answer = await par(node, await proof(`${node.url}/request`, await nonceFrom(node)));
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      assert.match(String(answer.body.request_uri), /^urn:ietf:params:oauth:request_uri:/);
    });

    test('ok/dpop_jkt without a proof (§10): pushed, the key named for the code', async () => {
      const answer = await par(nodes[0]!, undefined, await calculateJwkThumbprint(dpopJwk));
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
    });

    test('fail/dpop_jkt that is not the proof key’s thumbprint (§10.1) → invalid_request', async () => {
      const node = nodes[0]!;
      const other = await calculateJwkThumbprint(await exportJWK((await ecKeys()).publicKey));
      const answer = await par(node, await proof(`${node.url}/request`, await nonceFrom(node)), other);
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'invalid_request');
      assert.match(String(answer.body.error_description), /dpop_jkt/);
    });

    test('fail/a proof without a nonce → use_dpop_nonce with DPoP-Nonce', async () => {
      const node = nodes[0]!;
      const answer = await par(node, await proof(`${node.url}/request`, undefined));
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'use_dpop_nonce');
      assert.ok(answer.nonce);
    });

    test('fail/typ jwt → invalid_dpop_proof', async () => {
      const node = nodes[0]!;
      const nonce = await nonceFrom(node);
      const answer = await par(node, await proof(`${node.url}/request`, nonce, { header: { typ: 'JWT' } }));
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'invalid_dpop_proof');
    });

    test('fail/a future iat → invalid_dpop_proof', async () => {
      const node = nodes[0]!;
      const nonce = await nonceFrom(node);
      const iat = Math.floor(Date.now() / 1000) + 120;
      const answer = await par(node, await proof(`${node.url}/request`, nonce, { claims: { iat } }));
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'invalid_dpop_proof');
    });

    test('fail/a proof already used at PAR on the other node → invalid_dpop_proof', async () => {
      const [a, b] = [nodes[0]!, nodes[1]!];
      const nonce = await nonceFrom(a);
      const dpop = await proof(`${a.url}/request`, nonce);
      const first = await par(a, dpop);
      assert.notEqual(first.body.error, 'invalid_dpop_proof', JSON.stringify(first.body));
      // Node b sees the proof for a's URL: the replay cache answers before the htu check would.
      const again = await par(b, dpop);
      assert.equal(again.status, 400);
      assert.equal(again.body.error, 'invalid_dpop_proof');
      assert.match(String(again.body.error_description), /jti was already used/);
    });
  });
});
