import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { calculateJwkThumbprint, createLocalJWKSet, type JWK, jwtVerify } from 'jose';
import type { FederationKeyStore, KeyRevocationReason } from '../../../src/federation/index.ts';

/** A store under test with the implementation's own way of rotating and revoking keys. */
export interface FederationKeyStoreSubject {
  store: FederationKeyStore;
  /** Makes a new active key and retires the active one; resolves to the new kid. */
  rotate(now: Date, alg?: string): Promise<string>;
  revoke(kid: string, reason: KeyRevocationReason, now: Date): Promise<void>;
  close(): Promise<void>;
}

export interface FederationKeyStoreContractOptions {
  /** Names the implementation (and engine) in the test titles. */
  name: string;
  /** A reason to skip, e.g. an engine not reachable here. */
  skip?: string | false;
  /** A fresh store holding no key. */
  create: (statementLifetimeSeconds: number) => Promise<FederationKeyStoreSubject>;
  /** Runs once after the suite, e.g. to drop the engine's databases. */
  cleanup?: () => Promise<void>;
}

const LIFETIME = 3600;
const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const epoch = (date: Date) => Math.floor(date.getTime() / 1000);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;
const kids = (set: { keys: JWK[] }) => set.keys.map((k) => k.kid).sort();

async function withSubject(
  create: FederationKeyStoreContractOptions['create'],
  body: (s: FederationKeyStoreSubject) => Promise<void>,
): Promise<void> {
  const subject = await create(LIFETIME);
  try {
    await body(subject);
  } finally {
    await subject.close();
  }
}

async function signedVerifies(store: FederationKeyStore, jwks: { keys: JWK[] }): Promise<boolean> {
  const signer = await store.signer();
  const jwt = await signer.sign(
    { iss: 'https://ta.example', sub: 'https://ta.example' },
    'entity-statement+jwt',
  );
  try {
    await jwtVerify(jwt, createLocalJWKSet(jwks), { currentDate: T0 });
    return true;
  } catch {
    return false;
  }
}

/** The behaviour every `FederationKeyStore` owes the federation authority (OpenID Federation 1.0 §3.1.1, §8.7). */
export function runFederationKeyStoreContract({
  name,
  skip = false,
  create,
  cleanup,
}: FederationKeyStoreContractOptions): void {
  describe(`FederationKeyStore contract: ${name}`, { skip }, () => {
    if (cleanup) after(cleanup);

    test('fail/with no key there is no signer, and nothing is published or trusted', () =>
      withSubject(create, async ({ store }) => {
        await assert.rejects(store.signer(), { code: 'no_federation_key', status: 500 });
        assert.deepEqual((await store.publishedJwks(T0)).keys, []);
        assert.deepEqual(await store.historicalKeys(), []);
        assert.deepEqual((await store.verificationJwks()).keys, []);
      }));

    test('ok/the signer’s statements verify against the published keys; kid is the RFC 7638 thumbprint', () =>
      withSubject(create, async ({ store, rotate }) => {
        const kid = await rotate(T0);
        const signer = await store.signer();
        assert.equal(signer.kid, kid);
        assert.equal(signer.alg, 'ES256', 'ES256 when nothing says otherwise');
        const published = await store.publishedJwks(T0);
        assert.deepEqual(kids(published), [kid]);
        const [jwk] = published.keys;
        assert.equal(await calculateJwkThumbprint(jwk!, 'sha256'), kid);
        assert.equal(jwk?.use, 'sig');
        assert.equal(jwk?.alg, 'ES256');
        assert.equal(await signedVerifies(store, published), true);
        assert.equal(await signedVerifies(store, await store.verificationJwks()), true);
        assert.deepEqual(await store.historicalKeys(), [], 'the active key is not historical');
      }));

    test('ok/rotation takes the algorithm asked for, then keeps it', () =>
      withSubject(create, async ({ store, rotate }) => {
        await rotate(T0, 'ES384');
        assert.equal((await store.signer()).alg, 'ES384');
        await rotate(at(60));
        assert.equal((await store.signer()).alg, 'ES384');
      }));

    test('fail/no private key member is ever published, listed as historical or offered for verification', () =>
      withSubject(create, async ({ store, rotate, revoke }) => {
        const first = await rotate(T0);
        await rotate(at(60), 'PS256');
        await rotate(at(120), 'EdDSA');
        await revoke(first, 'superseded', at(180));
        const all: JWK[] = [
          ...(await store.publishedJwks(at(180))).keys,
          ...(await store.historicalKeys()),
          ...(await store.verificationJwks()).keys,
        ];
        assert.equal(all.length >= 5, true);
        for (const jwk of all)
          for (const member of PRIVATE_MEMBERS)
            assert.equal(member in jwk, false, `${jwk.kid} has ${member}`);
      }));

    test('ok/after rotation only the new key signs; the old one stays published for one statement lifetime', () =>
      withSubject(create, async ({ store, rotate }) => {
        const old = await rotate(T0);
        const retiredAt = at(60);
        const fresh = await rotate(retiredAt);
        assert.equal((await store.signer()).kid, fresh, 'the signer follows rotation at once');
        assert.deepEqual(kids(await store.publishedJwks(retiredAt)), [fresh, old].sort());
        assert.deepEqual(kids(await store.publishedJwks(at(60 + LIFETIME - 1))), [fresh, old].sort());
        assert.deepEqual(
          kids(await store.publishedJwks(at(60 + LIFETIME))),
          [fresh],
          'gone after the overlap',
        );
        assert.deepEqual(kids(await store.verificationJwks()), [fresh, old].sort());
        const historical = await store.historicalKeys();
        assert.deepEqual(
          historical.map((k) => ({ kid: k.kid, iat: k.iat, exp: k.exp, revoked: k.revoked })),
          [{ kid: old, iat: epoch(T0), exp: epoch(retiredAt) + LIFETIME, revoked: undefined }],
        );
      }));

    test('fail/a revoked key is neither published nor trusted; historical keys say when and why (§8.7.2)', () =>
      withSubject(create, async ({ store, rotate, revoke }) => {
        const old = await rotate(T0);
        const fresh = await rotate(at(60));
        const revokedAt = at(120);
        await revoke(old, 'compromised', revokedAt);
        assert.deepEqual(kids(await store.publishedJwks(revokedAt)), [fresh], 'even inside the overlap');
        assert.deepEqual(kids(await store.verificationJwks()), [fresh]);
        const [entry] = await store.historicalKeys();
        assert.equal(entry?.kid, old);
        assert.equal(entry?.exp, epoch(revokedAt), 'MUST NOT be considered valid after revocation');
        assert.deepEqual(entry?.revoked, { revoked_at: epoch(revokedAt), reason: 'compromised' });
      }));

    const refusals: Array<
      [string, (s: FederationKeyStoreSubject, active: string) => Promise<unknown>, string]
    > = [
      [
        'the active key cannot be revoked',
        (s, active) => s.revoke(active, 'unspecified', at(60)),
        'key_active',
      ],
      ['an unknown kid', (s) => s.revoke('no-such-kid', 'unspecified', at(60)), 'not_found'],
      [
        'an unknown reason',
        (s) => s.revoke('no-such-kid', 'lost' as KeyRevocationReason, at(60)),
        'invalid_input',
      ],
      ['an unknown algorithm', (s) => s.rotate(at(60), 'HS256'), 'invalid_input'],
    ];
    for (const [label, act, code] of refusals) {
      test(`fail/${label}`, () =>
        withSubject(create, async (subject) => {
          const active = await subject.rotate(T0);
          await assert.rejects(act(subject, active), { code });
          assert.equal((await subject.store.signer()).kid, active, 'nothing changed');
        }));
    }

    test('fail/a revoked key cannot be revoked again', () =>
      withSubject(create, async ({ rotate, revoke }) => {
        const old = await rotate(T0);
        await rotate(at(60));
        await revoke(old, 'superseded', at(120));
        await assert.rejects(revoke(old, 'compromised', at(180)), { code: 'conflict' });
      }));
  });
}
