import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { httpApiFacts, restApiFacts } from '../../../src/doors/aws-lambda/event-facts.ts';
import { htuOf, normalizeHtu, verifyDpopProof } from '../../../src/gateway/check-dpop-proof.ts';
import { createMemoryReplayCache } from '../../../src/shared/replay-cache/index.ts';
import { call } from '../fixture.ts';
import { type DpopEnv, type DpopKey, dpopEnv, dpopKey, PUBLIC_URL, proof, SECRET } from './dpop-fixture.ts';

let env: DpopEnv;
let key: DpopKey;
before(async () => {
  env = await dpopEnv();
  key = await dpopKey();
});
after(() => env?.close());

const URL_ACCOUNTS = `${PUBLIC_URL}/v1/accounts`;

function dpopToken(): Promise<string> {
  const claims = env.minter.claims(env.reader.clientId, env.reader.orgId, undefined, 'accounts:read');
  return env.minter.sign({ ...claims, cnf: { jkt: key.jkt } });
}

async function send(origin: string, token: string, dpop: string) {
  return call(env.noCert, origin, '/v1/accounts', { headers: { authorization: `DPoP ${token}`, dpop } });
}

describe('DPoP across gateway nodes', () => {
  test('fail/a proof used at one node is refused at the other (shared ReplayCache, RFC 9449 §11.1)', async () => {
    const token = await dpopToken();
    const p = await proof({
      key,
      htm: 'GET',
      htu: URL_ACCOUNTS,
      token,
      nonce: env.nonces.current(Date.now()),
    });
    assert.equal((await send(env.gateway.url, token, p)).status, 200);
    const replay = await send(env.gateway2.url, token, p);
    assert.equal(replay.status, 401);
    assert.equal(replay.json.code, 'dpop_proof_replayed');
    assert.match(String(replay.headers['www-authenticate']), /^DPoP error="invalid_dpop_proof"/);
  });

  test('ok/a nonce one node hands out is accepted by the other (§8, §9: shared nonce secret)', async () => {
    const token = await dpopToken();
    // The client's first try: no nonce; the 401 carries one (use_dpop_nonce).
    const first = await send(
      env.gateway.url,
      token,
      await proof({ key, htm: 'GET', htu: URL_ACCOUNTS, token }),
    );
    assert.equal(first.status, 401);
    assert.match(String(first.headers['www-authenticate']), /^DPoP error="use_dpop_nonce"/);
    const nonce = first.headers['dpop-nonce'] as string;
    assert.ok(nonce);
    // The retry with that nonce, at the other node.
    const second = await send(
      env.gateway2.url,
      token,
      await proof({ key, htm: 'GET', htu: URL_ACCOUNTS, token, nonce }),
    );
    assert.equal(second.status, 200, second.text);
    assert.ok(second.headers['dpop-nonce'], 'a success carries a fresh nonce (§8.2)');
  });
});

describe('htu behind a proxy', () => {
  test('fail/a proof naming the gateway’s socket URL, not its configured external URL (§4.3 step 9)', async () => {
    const token = await dpopToken();
    const p = await proof({
      key,
      htm: 'GET',
      htu: `${env.gateway.url}/v1/accounts`,
      token,
      nonce: env.nonces.current(Date.now()),
    });
    const res = await send(env.gateway.url, token, p);
    assert.equal(res.status, 401);
    assert.equal(res.json.code, 'dpop_uri_mismatch');
  });

  test('ok/the configured external URL passes while the socket is another', async () => {
    assert.notEqual(new URL(env.gateway.url).origin, PUBLIC_URL);
    const token = await dpopToken();
    const p = await proof({
      key,
      htm: 'GET',
      htu: URL_ACCOUNTS,
      token,
      nonce: env.nonces.current(Date.now()),
    });
    assert.equal((await send(env.gateway.url, token, p)).status, 200);
    const seen = env.upstreamSeen();
    assert.equal(seen?.['x-accredit-client-id'], env.reader.clientId);
    assert.equal(seen?.dpop, undefined, 'the proof is not forwarded upstream');
    assert.equal(seen?.authorization, undefined, 'the token is not forwarded upstream');
    assert.equal(seen?.['x-accredit-cert-x5t-s256'], undefined, 'no certificate was presented');
  });
});

describe('the DPoP proof checker', () => {
  test('ok/RFC 3986 normalisation of htu', () => {
    assert.equal(normalizeHtu('HTTPS://API.Example.com:443/v1/a?b=1#c'), 'https://api.example.com/v1/a');
    assert.equal(normalizeHtu('https://api.example.com'), 'https://api.example.com/');
    assert.equal(normalizeHtu('https://api.example.com/%7euser/%2f'), 'https://api.example.com/~user/%2F');
    assert.equal(normalizeHtu('https://api.example.com:8443/x'), 'https://api.example.com:8443/x');
    assert.equal(normalizeHtu('https://api.example.com/a/../b'), 'https://api.example.com/b');
    assert.equal(normalizeHtu('ftp://api.example.com/x'), undefined);
    assert.equal(normalizeHtu('https://user:pw@api.example.com/x'), undefined);
    assert.equal(normalizeHtu('not a url'), undefined);
    assert.equal(
      htuOf('https://api.example.com/prefix/', '/v1/a?x=1'),
      'https://api.example.com/prefix/v1/a',
    );
    assert.equal(htuOf('https://api.example.com', 'v1/a'), undefined);
  });

  test('ok/without nonces required, a proof without nonce passes; its jti is claimed once', async () => {
    const options = {
      replayCache: createMemoryReplayCache(),
      nonces: undefined,
      algorithms: ['ES256'],
      iatWindowSeconds: 60,
    };
    const token = 'header.payload.signature';
    const p = await proof({ key, htm: 'GET', htu: URL_ACCOUNTS, token });
    const request = { proof: p, method: 'GET', htu: URL_ACCOUNTS, accessToken: token, nowMs: Date.now() };
    assert.deepEqual(await verifyDpopProof(options, request), { jkt: key.jkt });
    await assert.rejects(verifyDpopProof(options, request), { reason: 'dpop_proof_replayed' });
  });

  test('fail/an invalid proof does not burn its jti', async () => {
    const options = {
      replayCache: createMemoryReplayCache(),
      nonces: undefined,
      algorithms: ['ES256'],
      iatWindowSeconds: 60,
    };
    const token = 'header.payload.signature';
    const p = await proof({ key, htm: 'GET', htu: URL_ACCOUNTS, token });
    const request = { proof: p, method: 'GET', htu: URL_ACCOUNTS, accessToken: token, nowMs: Date.now() };
    await assert.rejects(verifyDpopProof(options, { ...request, method: 'POST' }), {
      reason: 'dpop_method_mismatch',
    });
    assert.deepEqual(await verifyDpopProof(options, request), { jkt: key.jkt });
  });

  test('fail/an algorithm outside a narrower allow-list (ES256 proof, PS256 only)', async () => {
    const options = {
      replayCache: createMemoryReplayCache(),
      nonces: undefined,
      algorithms: ['PS256'],
      iatWindowSeconds: 60,
    };
    const token = 'header.payload.signature';
    const p = await proof({ key, htm: 'GET', htu: URL_ACCOUNTS, token });
    await assert.rejects(
      verifyDpopProof(options, {
        proof: p,
        method: 'GET',
        htu: URL_ACCOUNTS,
        accessToken: token,
        nowMs: Date.now(),
      }),
      { reason: 'dpop_algorithm_not_allowed' },
    );
  });
});

describe('the Lambda door’s htu base', () => {
  const http = {
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:eu-west-1:1:abc/prod/GET/v1/accounts',
    rawPath: '/payments/v1/accounts',
    rawQueryString: 'a=1',
    headers: { authorization: 'DPoP t', dpop: 'p' },
    requestContext: { requestId: 'r1', domainName: 'api.example.com', http: { method: 'GET' } },
  };
  test('ok/the event’s domain name and the mapping prefix', () => {
    const { facts } = httpApiFacts(http as never, { stripPrefix: '/payments' });
    assert.equal(facts.origin, 'https://api.example.com/payments');
    assert.equal(facts.target, '/v1/accounts?a=1');
    assert.equal(htuOf(facts.origin as string, facts.target), 'https://api.example.com/payments/v1/accounts');
    assert.equal(facts.dpop, 'p');
  });
  test('ok/the configured external URL wins', () => {
    const { facts } = httpApiFacts(http as never, { publicUrl: 'https://partners.example.com' });
    assert.equal(facts.origin, 'https://partners.example.com');
  });
  test('fail/an unusable domain name gives no base: the DPoP scheme is then refused', () => {
    const bad = { ...http, requestContext: { ...http.requestContext, domainName: 'evil.com/x?' } };
    assert.equal(httpApiFacts(bad as never).facts.origin, undefined);
    const rest = {
      type: 'REQUEST',
      methodArn: 'arn',
      path: '/v1/accounts',
      httpMethod: 'GET',
      headers: { DPoP: 'p' },
      requestContext: { domainName: 'api.example.com' },
    };
    const facts = restApiFacts(rest as never).facts;
    assert.equal(facts.origin, 'https://api.example.com');
    assert.equal(facts.dpop, 'p');
  });
});

describe('a door without an external URL', () => {
  test('fail/AuthZEN without resource.properties.origin, over a core without dpop.publicUrl: DPoP refused', async () => {
    const token = await dpopToken();
    const p = await proof({
      key,
      htm: 'GET',
      htu: URL_ACCOUNTS,
      token,
      nonce: env.nonces.current(Date.now()),
    });
    const res = await call(env.noCert, env.listener.url, '/access/v1/evaluation', {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}` },
      body: {
        subject: { type: 'client', id: env.reader.clientId, properties: { token, token_type: 'DPoP' } },
        action: { name: 'GET' },
        resource: { type: 'route', id: '/v1/accounts' },
        context: { dpop: p },
      },
    });
    const context = res.json.context as Record<string, unknown>;
    assert.equal(res.json.decision, false);
    assert.equal(context.status, 401);
    assert.equal(context.reason, 'dpop_unsupported');
  });

  test('fail/AuthZEN token_type other than Bearer or DPoP is a bad request', async () => {
    const res = await call(env.noCert, env.listener.url, '/access/v1/evaluation', {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}` },
      body: {
        subject: { type: 'client', id: 'x', properties: { token: 'abc', token_type: 'MAC' } },
        action: { name: 'GET' },
        resource: { type: 'route', id: '/v1/accounts' },
      },
    });
    assert.equal(res.status, 400);
  });
});

describe('proof keys and algorithms', () => {
  const options = () => ({
    replayCache: createMemoryReplayCache(),
    nonces: undefined,
    algorithms: ['ES256', 'EdDSA', 'PS256'],
    iatWindowSeconds: 60,
  });
  const token = 'header.payload.signature';
  const request = (p: string) => ({
    proof: p,
    method: 'GET',
    htu: URL_ACCOUNTS,
    accessToken: token,
    nowMs: Date.now(),
  });

  test('ok/an Ed25519 proof (EdDSA) and an RSA-PSS proof (PS256)', async () => {
    for (const [type, alg] of [
      ['ed25519', 'EdDSA'],
      ['rsa', 'PS256'],
    ] as const) {
      const { privateKey, publicKey } =
        type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
      const jwk = await exportJWK(publicKey);
      const k = { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
      const p = await proof({ key: k, htm: 'GET', htu: URL_ACCOUNTS, token, header: { alg } });
      assert.deepEqual(await verifyDpopProof(options(), request(p)), { jkt: k.jkt }, alg);
    }
  });

  test('fail/a P-256 key under alg ES384 (the key does not fit the algorithm)', async () => {
    const opts = { ...options(), algorithms: ['ES256', 'ES384'] };
    const p = await proof({ key, htm: 'GET', htu: URL_ACCOUNTS, token });
    // Re-signed claims would need a P-384 key: a header naming ES384 over a P-256 jwk is refused before.
    const [, body, sig] = p.split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'ES384', typ: 'dpop+jwt', jwk: key.jwk })).toString(
      'base64url',
    );
    await assert.rejects(verifyDpopProof(opts, request(`${header}.${body}.${sig}`)), {
      reason: 'dpop_proof_invalid',
    });
  });

  test('fail/a symmetric (oct) jwk', async () => {
    const p = await proof({ key, htm: 'GET', htu: URL_ACCOUNTS, token });
    const [, body, sig] = p.split('.');
    const header = Buffer.from(
      JSON.stringify({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } }),
    ).toString('base64url');
    await assert.rejects(verifyDpopProof(options(), request(`${header}.${body}.${sig}`)), {
      reason: 'dpop_private_key',
    });
  });

  test('fail/a jwk with use enc', async () => {
    const p = await proof({
      key,
      htm: 'GET',
      htu: URL_ACCOUNTS,
      token,
      header: { jwk: { ...key.jwk, use: 'enc' } },
    });
    await assert.rejects(verifyDpopProof(options(), request(p)), { reason: 'dpop_proof_invalid' });
  });

  test('fail/a dpop algorithm allow-list with HS256 or none is refused at start', async () => {
    const { dpopAlgorithms } = await import('../../../src/gateway/check-dpop-proof.ts');
    assert.throws(() => dpopAlgorithms(['ES256', 'HS256']), /HS256/);
    assert.throws(() => dpopAlgorithms(['none']), /none/);
    assert.throws(() => dpopAlgorithms([]), /at least one/);
  });
});

describe('configuration', () => {
  test('fail/a decision listener with an edgeUrl that is not an https base URL does not start', async () => {
    const { createDecisionListener } = await import('../../../src/gateway/index.ts');
    for (const edgeUrl of ['http://api.example.com', 'https://api.example.com/?q=1', 'not a url']) {
      await assert.rejects(
        createDecisionListener({
          host: '127.0.0.1',
          port: 0,
          tls: env.tls,
          core: env.core,
          logger: (await import('pino')).default({ level: 'silent' }),
          secret: SECRET,
          edgeUrl,
        }),
        /decision\.edgeUrl/,
      );
    }
  });

  test('fail/a DPoP iat window outside 1–600 s stops the core at start', async () => {
    const { createDecisionCore } = await import('../../../src/gateway/index.ts');
    for (const iatWindowSeconds of [0, 601, 1.5]) {
      await assert.rejects(
        createDecisionCore({
          liveness: env.liveness,
          routes: [],
          trustedCa: env.caPem,
          issuer: 'https://issuer.example',
          audience: 'https://api.example.com',
          jwksUri: 'https://issuer.example/jwks',
          dpop: { iatWindowSeconds },
          logger: (await import('pino')).default({ level: 'silent' }),
        }),
        /dpop\.iatWindowSeconds/,
      );
    }
  });
});

describe('the Lambda door’s facts through the core', () => {
  const event = (authorization: string, dpop: string, domainName = 'api.example.com') => ({
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:eu-west-1:1:abc/prod/GET/v1/accounts',
    rawPath: '/v1/accounts',
    rawQueryString: '',
    headers: { authorization, dpop },
    requestContext: { requestId: 'r1', domainName, http: { method: 'GET' } },
  });

  test('ok/a DPoP-bound token with its proof, htu from the event’s domain; the replay is refused', async () => {
    const token = await dpopToken();
    const p = await proof({
      key,
      htm: 'GET',
      htu: URL_ACCOUNTS,
      token,
      nonce: env.nonces.current(Date.now()),
    });
    const first = await env.core.decide(httpApiFacts(event(`DPoP ${token}`, p) as never).facts);
    assert.equal(first.allow, true, JSON.stringify(first));
    const replay = await env.core.decide(httpApiFacts(event(`DPoP ${token}`, p) as never).facts);
    assert.equal(replay.allow, false);
    assert.equal(replay.allow === false && replay.reason, 'dpop_proof_replayed');
  });

  test('fail/a proof for another host than the event’s domain', async () => {
    const token = await dpopToken();
    const p = await proof({
      key,
      htm: 'GET',
      htu: URL_ACCOUNTS,
      token,
      nonce: env.nonces.current(Date.now()),
    });
    const decision = await env.core.decide(
      httpApiFacts(event(`DPoP ${token}`, p, 'abc.execute-api.eu-west-1.amazonaws.com') as never).facts,
    );
    assert.equal(decision.allow === false && decision.reason, 'dpop_uri_mismatch');
    assert.match(String(decision.allow === false && decision.challenge), /^DPoP error="invalid_dpop_proof"/);
  });
});
