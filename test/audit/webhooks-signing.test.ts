import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import {
  type EventSigner,
  hmacKeyOf,
  newWebhookSecret,
  nextAttemptAt,
  openSecret,
  sealSecret,
  standardWebhookSignature,
  subscriptionMatches,
  WEBHOOK_JWT_TYP,
  webhookJws,
  webhookRequest,
} from '../../src/audit/index.ts';

const KEK = 'test-key-encryption-key-0123456789abcdef';

const payload = {
  id: '6f1d3c1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
  type: 'organisation.suspended',
  occurred_at: '2026-03-01T10:00:00.000Z',
  org_id: 'org-1',
  client_id: null,
  subject: { kind: 'organisation', id: 'org-1' },
  data: { status: 'suspended' },
};

async function testSigner(): Promise<{ signer: EventSigner; jwks: { keys: object[] } }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = 'ev-1';
  return {
    signer: {
      kid,
      alg: 'ES256',
      sign: (claims, typ) =>
        new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', kid, typ }).sign(privateKey),
    },
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] },
  };
}

describe('webhooks: Standard Webhooks signatures, verified by the standardwebhooks library', () => {
  test('ok/a signed request verifies and yields the payload', () => {
    const secret = newWebhookSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(hmacKeyOf(secret).length, 32);
    const body = JSON.stringify(payload);
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': payload.id,
      'webhook-timestamp': String(ts),
      'webhook-signature': standardWebhookSignature([secret], payload.id, ts, body),
    };
    assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(new Webhook(secret).verify(body, headers), payload);
    // The library signs the same way: same bytes, same signature.
    assert.equal(
      new Webhook(secret).sign(payload.id, new Date(ts * 1000), body),
      headers['webhook-signature'],
    );
  });

  test('bad/an altered body, id or timestamp, or another secret, does not verify', () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify(payload);
    const ts = Math.floor(Date.now() / 1000);
    const signature = standardWebhookSignature([secret], payload.id, ts, body);
    const headers = {
      'webhook-id': payload.id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signature,
    };
    const wh = new Webhook(secret);
    assert.throws(() => wh.verify(body.replace('suspended', 'activated'), headers), /signature/i);
    assert.throws(() => wh.verify(body, { ...headers, 'webhook-id': 'another' }), /signature/i);
    assert.throws(() => wh.verify(body, { ...headers, 'webhook-timestamp': String(ts + 1) }), /signature/i);
    assert.throws(() => new Webhook(newWebhookSecret()).verify(body, headers), /signature/i);
  });

  test('ok/during a rotation both secrets sign, and either one verifies alone', () => {
    const [current, previous] = [newWebhookSecret(), newWebhookSecret()];
    const body = JSON.stringify(payload);
    const ts = Math.floor(Date.now() / 1000);
    const signature = standardWebhookSignature([current, previous], payload.id, ts, body);
    assert.equal(signature.split(' ').length, 2);
    const headers = {
      'webhook-id': payload.id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signature,
    };
    assert.deepEqual(new Webhook(current).verify(body, headers), payload);
    assert.deepEqual(new Webhook(previous).verify(body, headers), payload);
  });

  test('ok/the request a delivery sends carries webhook-id = event id and verifies', async () => {
    const secret = newWebhookSecret();
    const sub = {
      id: 'sub-1',
      url: 'https://receiver.example/hook',
      scheme: 'standard-webhooks' as const,
      secret_enc: sealSecret(secret, KEK, 'sub-1'),
      previous_secret_enc: null,
      previous_secret_until: null,
    };
    const { signer } = await testSigner();
    const req = await webhookRequest(
      { eventId: payload.id, payload: JSON.stringify(payload), subscription: sub },
      { kek: KEK, signer: async () => signer, issuer: 'https://platform.example' },
      new Date(),
    );
    assert.equal(req.headers['webhook-id'], payload.id);
    assert.equal(req.headers['content-type'], 'application/json');
    assert.deepEqual(new Webhook(secret).verify(req.body, req.headers), payload);
  });
});

describe('webhooks: JWS scheme, verified with jose against the published keys', () => {
  test('ok/the body is a webhook+jwt whose claims are the event, for this receiver', async () => {
    const { signer, jwks } = await testSigner();
    const sub = {
      id: 'sub-2',
      url: 'https://receiver.example/hook',
      scheme: 'jws' as const,
      secret_enc: null,
      previous_secret_enc: null,
      previous_secret_until: null,
    };
    const req = await webhookRequest(
      { eventId: payload.id, payload: JSON.stringify(payload), subscription: sub },
      { kek: KEK, signer: async () => signer, issuer: 'https://platform.example' },
      new Date(),
    );
    assert.equal(req.headers['content-type'], 'application/jwt');
    assert.equal(req.headers['webhook-signature'], undefined);
    const { payload: claims, protectedHeader } = await jwtVerify(req.body, createLocalJWKSet(jwks as never), {
      issuer: 'https://platform.example',
      audience: 'https://receiver.example/hook',
      typ: WEBHOOK_JWT_TYP,
      algorithms: ['ES256'],
    });
    assert.equal(protectedHeader.kid, 'ev-1');
    assert.equal(claims.jti, payload.id);
    assert.equal(claims.type, 'organisation.suspended');
    assert.deepEqual(claims.data, payload.data);
    assert.equal(claims.iat, Number(req.headers['webhook-timestamp']));
  });

  test('bad/another audience, another key or an altered body does not verify', async () => {
    const { signer, jwks } = await testSigner();
    const other = await testSigner();
    const jws = await webhookJws(signer, payload, {
      iss: 'https://p.example',
      aud: 'https://a.example/h',
      iat: 1,
    });
    const keys = createLocalJWKSet(jwks as never);
    await assert.rejects(jwtVerify(jws, keys, { audience: 'https://b.example/h' }), {
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
    });
    await assert.rejects(jwtVerify(jws, createLocalJWKSet(other.jwks as never)), {
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' /* same kid, another key */,
    });
    const [h, p, s] = jws.split('.');
    const altered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), org_id: 'org-2' }),
    ).toString('base64url');
    await assert.rejects(jwtVerify(`${h}.${altered}.${s}`, keys), {
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
    await assert.rejects(jwtVerify(jws, keys, { typ: 'secevent+jwt' }), {
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
    });
  });
});

describe('webhooks: secrets sealed under the KEK', () => {
  test('ok/sealed and opened with the same KEK and subscription', () => {
    const secret = newWebhookSecret();
    const sealed = sealSecret(secret, KEK, 'sub-1');
    assert.ok(!sealed.includes(secret.slice(6)), 'the secret is not in the sealed form');
    assert.notEqual(sealSecret(secret, KEK, 'sub-1'), sealed, 'a fresh IV every time');
    assert.equal(openSecret(sealed, KEK, 'sub-1'), secret);
  });

  test('bad/another KEK, another subscription or an altered value is refused', () => {
    const sealed = sealSecret(newWebhookSecret(), KEK, 'sub-1');
    assert.throws(() => openSecret(sealed, `${KEK}x`, 'sub-1'), /authenticate/);
    assert.throws(() => openSecret(sealed, KEK, 'sub-2'), /authenticate/);
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[2]!, 'base64url');
    ct[0]! ^= 1;
    parts[2] = ct.toString('base64url');
    assert.throws(() => openSecret(parts.join('.'), KEK, 'sub-1'), /authenticate/);
    assert.throws(() => openSecret('v0.a.b.c', KEK, 'sub-1'), /format/);
  });
});

describe('webhooks: retry schedule', () => {
  const policy = { scheduleSeconds: [10, 60, 300, 1800, 7200], maxAgeMs: 24 * 3600_000 };
  const start = new Date('2026-03-01T00:00:00.000Z');

  test('ok/exponential delays, jittered within ±20 %', () => {
    const mid = () => 0.5;
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(
        (n) => (nextAttemptAt(policy, n, start, start, mid)!.getTime() - start.getTime()) / 1000,
      ),
      [10, 60, 300, 1800, 7200],
    );
    assert.equal(nextAttemptAt(policy, 2, start, start, () => 0)!.getTime() - start.getTime(), 48_000);
    assert.equal(nextAttemptAt(policy, 2, start, start, () => 1)!.getTime() - start.getTime(), 72_000);
  });

  test("ok/a receiver's Retry-After stretches the delay, never shortens it, and is capped", () => {
    const mid = () => 0.5;
    const delay = (attempt: number, retryAfter?: number) =>
      (nextAttemptAt(policy, attempt, start, start, mid, retryAfter)!.getTime() - start.getTime()) / 1000;
    assert.equal(delay(1, 120), 120, 'later than the 10 s of the schedule');
    assert.equal(delay(2, 5), 60, 'sooner than the schedule: the schedule wins');
    assert.equal(delay(1, 10 ** 9), 6 * 3600, 'capped at 6 h');
    assert.equal(
      nextAttemptAt(policy, 1, new Date(start.getTime() + 20 * 3600_000), start, mid, 6 * 3600),
      undefined,
      'beyond the window: dead',
    );
  });

  test('bad/no attempt after the last one, nor beyond the window', () => {
    assert.equal(nextAttemptAt(policy, 6, start, start), undefined, 'schedule exhausted: dead');
    const late = new Date(start.getTime() + 24 * 3600_000 - 5000);
    assert.equal(
      nextAttemptAt(policy, 1, late, start, () => 0.5),
      undefined,
      'past 24 h: dead',
    );
    assert.ok(
      nextAttemptAt(policy, 1, late, new Date(late.getTime() - 1000), () => 0.5),
      'a fresh window',
    );
  });
});

describe('webhooks: which subscriptions an event reaches', () => {
  const event = { type: 'certificate.revoked' as const, orgId: 'org-1' };
  test('ok/by type, by *, and an organisation-scoped one for its own organisation', () => {
    assert.ok(subscriptionMatches({ event_types: ['certificate.revoked'], org_id: null }, event));
    assert.ok(subscriptionMatches({ event_types: ['*'], org_id: null }, event));
    assert.ok(subscriptionMatches({ event_types: ['*'], org_id: 'org-1' }, event));
  });
  test('bad/another type, another organisation, or an event of no organisation', () => {
    assert.ok(!subscriptionMatches({ event_types: ['certificate.issued'], org_id: null }, event));
    assert.ok(!subscriptionMatches({ event_types: ['*'], org_id: 'org-2' }, event));
    assert.ok(
      !subscriptionMatches({ event_types: ['*'], org_id: 'org-1' }, { type: 'key.expiring', orgId: null }),
    );
  });
});
