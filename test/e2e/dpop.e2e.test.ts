import assert from 'node:assert/strict';
import { createHash, randomUUID, webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { Agent, fetch as undiciFetch } from 'undici';
import { PlatformProcess } from '../support/platform-process.ts';
import { probeRedis, REDIS_URL } from '../support/redis.ts';

// The reported failure, on a real `accredit serve` whose replay cache is Redis (ACCREDIT_REDIS_URL): a
// private_key_jwt client without a certificate gets a DPoP-bound token through oauth4webapi, a replayed proof is
// refused with invalid_dpop_proof, and the claim is in Redis (the configured cache), not in this process.
const redisSkip = await probeRedis();

describe('DPoP on the platform with the Redis replay cache (issue 14)', {
  timeout: 120_000,
  skip: redisSkip,
}, () => {
  let platform: PlatformProcess;
  let agent: Agent;
  let clientId: string;
  let clientKeys: webcrypto.CryptoKeyPair;
  const prefix = 'accredit:replay:dpop:';
  const fetchTls = (url: string, init?: RequestInit) =>
    undiciFetch(url, { ...init, dispatcher: agent } as Parameters<
      typeof undiciFetch
    >[1]) as unknown as Promise<Response>;
  const cli = async (args: string[]) => {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  before(async () => {
    platform = await PlatformProcess.create({ ACCREDIT_REDIS_URL: REDIS_URL });
    await platform.start(['--init']);
    agent = new Agent({ connect: { ca: readFileSync(platform.caBundle, 'utf8') } });
    const org = String((await cli(['org', 'create', '--name', 'Acme Bank'])).id);
    clientKeys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const jwks = join(platform.dir, 'client-jwks.json');
    writeFileSync(
      jwks,
      JSON.stringify({ keys: [{ ...(await exportJWK(clientKeys.publicKey)), kid: 'k1', alg: 'ES256' }] }),
    );
    clientId = String(
      (
        await cli([
          'app',
          'create',
          '--org',
          org,
          '--name',
          'Reporting',
          '--roles',
          'partner_reader',
          '--auth',
          'private_key_jwt',
          '--jwks',
          jwks,
        ])
      ).client_id,
    );
  });

  after(async () => {
    await agent?.close();
    await platform?.stop();
    platform?.cleanup();
  });

  test('ok/oauth4webapi DPoP token without a certificate; fail/its proof replayed → invalid_dpop_proof, claimed in Redis', async () => {
    const issuer = new URL(platform.url);
    const metadata = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { [oauth.customFetch]: fetchTls }),
    );
    const client: oauth.Client = { client_id: clientId };
    const auth = oauth.PrivateKeyJwt(clientKeys.privateKey);
    const dpopKeys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const DPoP = oauth.DPoP(client, dpopKeys);
    const grant = async () =>
      oauth.processClientCredentialsResponse(
        metadata,
        client,
        await oauth.clientCredentialsGrantRequest(metadata, client, auth, new URLSearchParams(), {
          DPoP,
          [oauth.customFetch]: fetchTls,
        }),
      );
    let result: oauth.TokenEndpointResponse;
    try {
      result = await grant();
    } catch (err) {
      assert.ok(oauth.isDPoPNonceError(err), String(err));
      result = await grant();
    }
    assert.equal(result.token_type, 'dpop');
    const jwk = await exportJWK(dpopKeys.publicKey);
    const claims = JSON.parse(Buffer.from(result.access_token.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(claims.cnf, { jkt: await calculateJwkThumbprint(jwk) });

    // One proof, sent twice with fresh client assertions.
    const tokenEndpoint = String(metadata.token_endpoint);
    const send = async (proof: string) => {
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(metadata.issuer)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(clientKeys.privateKey);
      const response = await fetchTls(tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }).toString(),
      });
      return {
        status: response.status,
        nonce: response.headers.get('dpop-nonce'),
        body: (await response.json()) as Record<string, unknown>,
      };
    };
    const makeProof = (nonce?: string) =>
      new SignJWT({
        htm: 'POST',
        htu: tokenEndpoint,
        jti: randomUUID(),
        iat: Math.floor(Date.now() / 1000),
        ...(nonce && { nonce }),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(dpopKeys.privateKey);
    const first = await send(await makeProof());
    assert.equal(first.body.error, 'use_dpop_nonce');
    assert.ok(first.nonce);
    const proof = await makeProof(first.nonce);
    const redis = new Redis(REDIS_URL);
    try {
      const { jti } = JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString());
      const jkt = await calculateJwkThumbprint(jwk);
      const key = `${prefix}${createHash('sha256').update(`${jkt}.${jti}`).digest('base64url')}`;
      assert.equal(await redis.exists(key), 0);
      const ok = await send(proof);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.token_type, 'DPoP');
      assert.equal(await redis.exists(key), 1, 'the claim is in Redis');
      const ttl = await redis.pttl(key);
      assert.ok(ttl > 0 && ttl <= 316_000, `expires with the proof (${ttl} ms)`);
      const replay = await send(proof);
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error, 'invalid_dpop_proof');
      assert.match(String(replay.body.error_description), /jti was already used/);
    } finally {
      redis.disconnect();
    }
  });

  test('ok/oauth4webapi: the DPoP-bound token calls the gateway without a client certificate (200); fail/as Bearer → 401', async () => {
    // The operation accepts DPoP-bound tokens and needs no certificate (catalog policy, issue 14).
    await cli([
      'catalog',
      'operation',
      'update',
      '6d1f4a8e-0b7c-4f51-9a51-0c0a2f9d7e01',
      '--mtls',
      'optional',
      '--dpop',
      'accepted',
    ]);
    const issuer = new URL(platform.url);
    const metadata = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { [oauth.customFetch]: fetchTls }),
    );
    const client: oauth.Client = { client_id: clientId };
    const dpopKeys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const DPoP = oauth.DPoP(client, dpopKeys);
    // RFC 9449 §8/§9: the first try of each server may be answered with a nonce to use; retry once with it.
    const withNonceRetry = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        if (!oauth.isDPoPNonceError(err)) throw err;
        return fn();
      }
    };
    const token = await withNonceRetry(async () =>
      oauth.processClientCredentialsResponse(
        metadata,
        client,
        await oauth.clientCredentialsGrantRequest(
          metadata,
          client,
          oauth.PrivateKeyJwt(clientKeys.privateKey),
          new URLSearchParams(),
          { DPoP, [oauth.customFetch]: fetchTls },
        ),
      ),
    );
    assert.equal(token.token_type, 'dpop');
    const url = new URL('/v1/accounts', platform.gatewayUrl);
    const response = await withNonceRetry(() =>
      oauth.protectedResourceRequest(token.access_token, 'GET', url, new Headers(), null, {
        DPoP,
        [oauth.customFetch]: fetchTls,
      }),
    );
    assert.equal(response.status, 200, await response.clone().text());

    // RFC 9449 §7.2: the same token as a Bearer token is refused.
    const bearer = await fetchTls(url.href, { headers: { authorization: `Bearer ${token.access_token}` } });
    assert.equal(bearer.status, 401);
    assert.match(String(bearer.headers.get('www-authenticate')), /error="invalid_token"/);
  });
});
