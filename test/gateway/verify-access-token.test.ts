// The access-token verifier (step 2b) on its own: jose's jwtVerify with the JWKS resolver, served over a real
// socket, proving every refusal is made (tampering, alg confusion, typ, crit, times, iss/aud, required
// claims, key selection) and that ES256, PS256 and EdDSA tokens verify.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, type JWTVerifyGetKey, SignJWT } from 'jose';
import pino from 'pino';
import { GatewayError } from '../../src/gateway/gateway-error.ts';
import { createJwksResolver, type JwksResolver } from '../../src/gateway/jwks.ts';
import {
  accessTokenJoseOptions,
  createTokenVerifier,
  type TokenVerifier,
} from '../../src/gateway/verify-access-token.ts';
import { createVerifyPool, type VerifyPool } from '../../src/gateway/verify-pool.ts';

const ISSUER = 'https://as.example';
const AUDIENCE = 'https://api.example';
const NOW = new Date('2026-06-01T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const X5T = 'x'.repeat(43);

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const encKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const opsKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const HMAC_SECRET = 'c2VjcmV0LXB1Ymxpc2hlZC1pbi10aGUtandrcw';

const jwks = {
  keys: [
    { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' },
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'PS256', use: 'sig' },
    { ...(await exportJWK(ed.publicKey)), kid: 'ed', use: 'sig' },
    // Not for signatures: never selected.
    { ...(await exportJWK(encKey.publicKey)), kid: 'enc', use: 'enc' },
    { ...(await exportJWK(opsKey.publicKey)), kid: 'ops', key_ops: ['encrypt'] },
    // A shared secret has no place in a JWKS; published anyway, it must never verify a token.
    { kty: 'oct', k: HMAC_SECRET, kid: 'hmac' },
  ],
};

/** The authorization server's JWKS endpoint on a real socket; what it serves can change (key rotation). */
const served = new Map<string, { status: number; body: unknown }>();
const fetches = new Map<string, number>();
const server = createServer((req, res) => {
  const path = req.url ?? '/';
  fetches.set(path, (fetches.get(path) ?? 0) + 1);
  const answer = served.get(path) ?? { status: 404, body: {} };
  res.writeHead(answer.status, { 'content-type': 'application/jwk-set+json' });
  res.end(JSON.stringify(answer.body));
});
let base = '';
const resolvers: JwksResolver[] = [];
/** Verification thread pools, one per resolver (a pool verifies against its resolver's key set). */
const pools = new Map<string, VerifyPool>();
const getKeyIds = new Map<JWTVerifyGetKey, number>();
const byGetKey = new Map<JWTVerifyGetKey, JwksResolver>();
/** Tokens a pool took (verified in its thread) and tokens it handed back (verified in the calling thread). */
const offloaded = { taken: 0, declined: 0 };

function resolver(path: string, cooldownMs = 60_000): JwksResolver {
  const r = createJwksResolver({
    uri: `${base}${path}`,
    ca: undefined,
    cooldownMs,
    maxAgeMs: 600_000,
    timeoutMs: 2000,
  });
  resolvers.push(r);
  byGetKey.set(r.getKey, r);
  return r;
}

let shared: JwksResolver;
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  served.set('/jwks', { status: 200, body: jwks });
  served.set('/down', { status: 503, body: { error: 'unavailable' } });
  shared = resolver('/jwks');
});
after(async () => {
  await Promise.all([...pools.values()].map((p) => p.close()));
  await Promise.all(resolvers.map((r) => r.close()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'client-1',
    client_id: 'client-1',
    org_id: 'org-1',
    scope: 'accounts:read payments:write',
    roles: ['partner_reader'],
    iat: NOW_S - 10,
    exp: NOW_S + 300,
    jti: randomUUID(),
    cnf: { 'x5t#S256': X5T },
    ...overrides,
  };
}

async function signed(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
  key: KeyObject = ec.privateKey,
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: 'ec', typ: 'at+jwt', ...header } as { alg: string })
    .sign(key);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS made by hand, for headers jose refuses to sign (crit with unknown extensions). */
function raw(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

const ALGORITHMS = ['ES256', 'ES384', 'PS256', 'EdDSA'];

function poolFor(getKey: JWTVerifyGetKey, algorithms: string[]): VerifyPool | undefined {
  const keys = byGetKey.get(getKey);
  if (!keys) return undefined;
  // A pool applies its own options: one per key source and algorithm allow-list.
  if (!getKeyIds.has(getKey)) getKeyIds.set(getKey, getKeyIds.size);
  const id = `${getKeyIds.get(getKey)}:${algorithms.join(',')}`;
  let pool = pools.get(id);
  if (!pool) {
    pool = createVerifyPool({
      threads: 1,
      options: accessTokenJoseOptions({
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms,
        clockToleranceSeconds: 5,
      }),
      keys,
      logger: pino({ level: 'silent' }),
    });
    pools.set(id, pool);
  }
  return pool;
}

/** threads 0: jose in the calling thread; 1: a verification thread (verify-pool.ts), falling back as it does. */
function makeVerifier(
  getKey: JWTVerifyGetKey = shared.getKey,
  algorithms?: string[],
  threads = 0,
): TokenVerifier {
  const algs = algorithms ?? ALGORITHMS;
  const options = {
    issuer: ISSUER,
    audience: AUDIENCE,
    getKey,
    algorithms: algs,
    clockToleranceSeconds: 5,
    cacheSize: 100,
  };
  if (threads === 0) return createTokenVerifier(options);
  const v = createTokenVerifier(options); // checks the allow-list before a thread is given it
  const pool = poolFor(getKey, algs);
  if (!pool) return v;
  return createTokenVerifier({
    ...options,
    offload: {
      verify(token, nowMs) {
        const taken = pool.verify(token, nowMs);
        if (taken) offloaded.taken++;
        else offloaded.declined++;
        return taken;
      },
    },
  });
}

async function refuse(token: string, reason: string, v: TokenVerifier): Promise<void> {
  await assert.rejects(v.verify(token, NOW), (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.ok(!err.message.includes(token.slice(0, 20)), 'the message never carries the token');
    return true;
  });
}

for (const threads of [0, 1]) {
  describe(`access token verifier (${threads === 0 ? 'in the calling thread' : 'in a verification thread'})`, () => {
    const verifier = (getKey?: JWTVerifyGetKey, algorithms?: string[]) =>
      makeVerifier(getKey, algorithms, threads);
    const refused = (token: string, reason: string, v = verifier()) => refuse(token, reason, v);
    test('ok/ES256 token: claims read, cached until exp', async () => {
      const v = verifier();
      const token = await signed(claims());
      const verified = await v.verify(token, NOW);
      assert.equal(verified.clientId, 'client-1');
      assert.equal(verified.orgId, 'org-1');
      assert.deepEqual([...verified.scopes], ['accounts:read', 'payments:write']);
      assert.equal(verified.cnfX5tS256, X5T);
      assert.equal(verified.expMs, (NOW_S + 300) * 1000);
      assert.equal(v.cached(token, NOW.getTime()), verified);
      assert.equal(v.cached(token, (NOW_S + 300) * 1000), undefined, 'not served at or after exp');
    });

    test('ok/PS256 and EdDSA tokens verify with their JWKS keys', async () => {
      const v = verifier();
      const ps = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'PS256', kid: 'rsa', typ: 'at+jwt' })
        .sign(rsa.privateKey);
      assert.equal((await v.verify(ps, NOW)).sub, 'client-1');
      const eddsa = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'EdDSA', kid: 'ed', typ: 'at+jwt' })
        .sign(ed.privateKey);
      assert.equal((await v.verify(eddsa, NOW)).sub, 'client-1');
    });

    test('ok/typ application/at+jwt; aud as an array naming the API; exp within the leeway', async () => {
      const v = verifier();
      await v.verify(await signed(claims(), { typ: 'application/at+jwt' }), NOW);
      await v.verify(await signed(claims({ aud: ['https://other.example', AUDIENCE] })), NOW);
      await v.verify(await signed(claims({ exp: NOW_S - 3 })), NOW);
    });

    test('fail/tampered signature', async () => {
      const token = await signed(claims());
      const [h, p, s] = token.split('.') as [string, string, string];
      const bytes = Buffer.from(s, 'base64url');
      bytes[10] = (bytes[10] as number) ^ 0x01;
      await refused(`${h}.${p}.${bytes.toString('base64url')}`, 'token_signature_invalid');
    });

    test('fail/tampered payload under the original signature', async () => {
      const token = await signed(claims());
      const [h, , s] = token.split('.') as [string, string, string];
      await refused(`${h}.${b64(claims({ scope: 'admin' }))}.${s}`, 'token_signature_invalid');
    });

    test('fail/signature stripped', async () => {
      const token = await signed(claims());
      const [h, p] = token.split('.') as [string, string];
      await refused(`${h}.${p}.`, 'token_signature_invalid');
    });

    test('fail/signed by a foreign key under a known kid', async () => {
      await refused(await signed(claims(), {}, foreign.privateKey), 'token_signature_invalid');
    });

    test('fail/alg none', async () => {
      const token = `${b64({ alg: 'none', kid: 'ec', typ: 'at+jwt' })}.${b64(claims())}.`;
      await refused(token, 'token_algorithm_not_allowed');
    });

    test('fail/HS256 keyed with the public key (algorithm confusion)', async () => {
      const pem = ec.publicKey.export({ type: 'spki', format: 'pem' });
      const input = `${b64({ alg: 'HS256', kid: 'ec', typ: 'at+jwt' })}.${b64(claims())}`;
      const mac = createHmac('sha256', pem).update(input).digest('base64url');
      await refused(`${input}.${mac}`, 'token_algorithm_not_allowed');
      // The verifier itself never admits a MAC algorithm, whatever allow-list it is given.
      assert.throws(() => verifier(undefined, ['ES256', 'HS256']), /HS256/);
    });

    test('fail/an alg the key was not published for (ES256 header on the PS256 key)', async () => {
      await refused(await signed(claims(), { kid: 'rsa' }), 'token_key_unknown');
      // The RSA key published for PS256 does not verify an (allow-listed) RS256 token signed with it.
      const rs = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'RS256', kid: 'rsa', typ: 'at+jwt' })
        .sign(rsa.privateKey);
      await refused(rs, 'token_key_unknown', verifier(undefined, ['ES256', 'PS256', 'RS256']));
    });

    test('fail/an algorithm outside the allow-list', async () => {
      const eddsa = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'EdDSA', kid: 'ed', typ: 'at+jwt' })
        .sign(ed.privateKey);
      await refused(eddsa, 'token_algorithm_not_allowed', verifier(undefined, ['ES256']));
    });

    test('fail/typ JWT, or no typ (RFC 9068 §4)', async () => {
      await refused(await signed(claims(), { typ: 'JWT' }), 'token_type_invalid');
      await refused(raw({ alg: 'ES256', kid: 'ec' }, claims()), 'token_type_invalid');
    });

    test('fail/crit header parameters (RFC 7515 §4.1.11): none is understood', async () => {
      const header = { alg: 'ES256', kid: 'ec', typ: 'at+jwt' };
      await refused(raw({ ...header, crit: ['x-ext'], 'x-ext': 1 }, claims()), 'token_malformed');
      await refused(raw({ ...header, crit: ['exp'] }, claims()), 'token_malformed');
      await refused(raw({ ...header, crit: [] }, claims()), 'token_malformed');
      // b64 is the one extension jose understands; a JWT with an unencoded payload (RFC 7797) is still refused.
      const unencoded = { ...header, crit: ['b64'], b64: false };
      const input = `${b64(unencoded)}.${JSON.stringify(claims())}`;
      const signature = sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
      await refused(`${input}.${signature.toString('base64url')}`, 'token_malformed');
      // The same header without crit verifies: the refusals above are crit's.
      await verifier().verify(raw({ ...header, 'x-ext': 1 }, claims()), NOW);
    });

    test('fail/expired, beyond the leeway', async () => {
      await refused(await signed(claims({ exp: NOW_S - 6 })), 'token_expired');
    });

    test('fail/not yet valid (nbf beyond the leeway)', async () => {
      await refused(await signed(claims({ nbf: NOW_S + 60 })), 'token_not_yet_valid');
    });

    test('fail/time claims that are not NumericDates', async () => {
      await refused(await signed(claims({ exp: String(NOW_S + 300) })), 'token_claims_invalid');
      await refused(await signed(claims({ iat: 'yesterday' })), 'token_claims_invalid');
      await refused(await signed(claims({ nbf: 'now' })), 'token_claims_invalid');
    });

    test('fail/another issuer, another audience', async () => {
      await refused(await signed(claims({ iss: 'https://evil.example' })), 'token_issuer_invalid');
      await refused(await signed(claims({ aud: 'https://other.example' })), 'token_audience_invalid');
      await refused(await signed(claims({ aud: ['https://other.example'] })), 'token_audience_invalid');
    });

    test('fail/each claim RFC 9068 §2.2 requires', async () => {
      const expected: Record<string, string> = {
        iss: 'token_issuer_invalid',
        aud: 'token_audience_invalid',
        exp: 'token_claims_invalid',
        sub: 'token_claims_invalid',
        client_id: 'token_claims_invalid',
        iat: 'token_claims_invalid',
        jti: 'token_claims_invalid',
      };
      for (const [claim, reason] of Object.entries(expected)) {
        const payload = claims();
        delete payload[claim];
        await refused(await signed(payload), reason);
      }
    });

    test('fail/a cnf that is not an object', async () => {
      await refused(await signed(claims({ cnf: 'x' })), 'token_claims_invalid');
    });

    test('fail/unknown kid: one refetch of the JWKS, then refused', async () => {
      fetches.delete('/unknown'); // the suite runs once per mode
      served.set('/unknown', { status: 200, body: jwks });
      const keys = resolver('/unknown', 0);
      await refused(await signed(claims(), { kid: 'rotated' }), 'token_key_unknown', verifier(keys.getKey));
      assert.equal(fetches.get('/unknown'), 2, 'the first load and one refetch for the unknown kid');
    });

    test('fail/unknown kids within the cooldown do not refetch the JWKS', async () => {
      fetches.delete('/cooldown'); // the suite runs once per mode
      served.set('/cooldown', { status: 200, body: jwks });
      const v = verifier(resolver('/cooldown', 60_000).getKey);
      await refused(await signed(claims(), { kid: 'forged-1' }), 'token_key_unknown', v);
      await refused(await signed(claims(), { kid: 'forged-2' }), 'token_key_unknown', v);
      assert.equal(fetches.get('/cooldown'), 1);
    });

    test('ok/a kid learnt on refetch (key rotation) verifies', async () => {
      fetches.delete('/rotation'); // the suite runs once per mode
      served.set('/rotation', { status: 200, body: jwks });
      const keys = resolver('/rotation', 0);
      const v = verifier(keys.getKey);
      await v.verify(await signed(claims()), NOW);
      const rotated = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      served.set('/rotation', {
        status: 200,
        body: { keys: [{ ...(await exportJWK(rotated.publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' }] },
      });
      const token = await signed(claims(), { kid: 'k2' }, rotated.privateKey);
      assert.equal((await v.verify(token, NOW)).sub, 'client-1');
      assert.equal(fetches.get('/rotation'), 2);
    });

    test('fail/the JWKS cannot be read: 503 jwks_unavailable', async () => {
      served.set('/not-a-set', { status: 200, body: { keys: ['not a key'] } });
      served.set('/no-keys', { status: 200, body: { keys: 'none' } });
      for (const path of ['/down', '/no-such-path', '/not-a-set', '/no-keys']) {
        await assert.rejects(
          verifier(resolver(path).getKey).verify(await signed(claims()), NOW),
          (err: unknown) => {
            assert.ok(err instanceof GatewayError);
            assert.equal(err.reason, 'jwks_unavailable');
            assert.equal(err.status, 503);
            return true;
          },
        );
      }
    });

    test('fail/JWKS members not meant for verification are never selected', async () => {
      // use "enc", key_ops without "verify": the right key material under its kid is still refused.
      await refused(await signed(claims(), { kid: 'enc' }, encKey.privateKey), 'token_key_unknown');
      await refused(await signed(claims(), { kid: 'ops' }, opsKey.privateKey), 'token_key_unknown');
      // An HMAC token keyed with the secret published in the JWKS: the allow-list is checked first.
      const input = `${b64({ alg: 'HS256', kid: 'hmac', typ: 'at+jwt' })}.${b64(claims())}`;
      const mac = createHmac('sha256', Buffer.from(HMAC_SECRET, 'base64url'))
        .update(input)
        .digest('base64url');
      await refused(`${input}.${mac}`, 'token_algorithm_not_allowed');
    });
  });
}

describe('access token verifier: verification threads', () => {
  test('ok/tokens were verified in the thread, not only handed back', () => {
    // The suite above ran every case through a pool too; most tokens after the first key load go to the thread.
    assert.ok(offloaded.taken >= 20, `taken ${offloaded.taken}, declined ${offloaded.declined}`);
  });

  test('ok/200 tokens in one turn, valid and refused mixed, each gets its own answer', async () => {
    const v = makeVerifier(shared.getKey, undefined, 1);
    await v.verify(await signed(claims()), NOW); // the key set is loaded
    const before = offloaded.taken;
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 3 === 0
          ? signed(claims({ sub: `client-${i}`, iss: 'https://evil.example' }))
          : signed(claims({ sub: `client-${i}` })),
      ),
    );
    const results = await Promise.allSettled(tokens.map((t) => v.verify(t, NOW)));
    results.forEach((r, i) => {
      if (i % 3 === 0) {
        assert.equal(r.status, 'rejected');
        assert.equal(((r as PromiseRejectedResult).reason as GatewayError).reason, 'token_issuer_invalid');
      } else {
        assert.equal(r.status, 'fulfilled');
        assert.equal((r as PromiseFulfilledResult<{ sub: string }>).value.sub, `client-${i}`);
      }
    });
    assert.equal(offloaded.taken - before, 200);
  });

  test('ok/a closed pool hands every token back: still verified, still refused', async () => {
    const keys = resolver('/jwks');
    const pool = createVerifyPool({
      threads: 1,
      options: accessTokenJoseOptions({
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ALGORITHMS,
        clockToleranceSeconds: 5,
      }),
      keys,
      logger: pino({ level: 'silent' }),
    });
    await keys.refresh();
    await pool.close();
    assert.equal(pool.verify('a.b.c', NOW.getTime()), undefined);
    const v = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      getKey: keys.getKey,
      algorithms: ALGORITHMS,
      clockToleranceSeconds: 5,
      cacheSize: 100,
      offload: pool,
    });
    assert.equal((await v.verify(await signed(claims()), NOW)).sub, 'client-1');
    await refuse(await signed(claims(), {}, foreign.privateKey), 'token_signature_invalid', v);
  });
});
