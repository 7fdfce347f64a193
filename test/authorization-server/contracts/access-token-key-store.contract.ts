import assert from 'node:assert/strict';
import type { JsonWebKey } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createLocalJWKSet, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import type { AccessTokenKeyStore } from '../../../src/authorization-server/access-token-keys.ts';
import type { SigningKeySeed } from '../../support/signing-key-seed.ts';

/** A store under test and the implementation's own way of giving it keys. */
export interface AccessTokenKeyStoreSubject {
  store: AccessTokenKeyStore;
  /** Adds a key in the seed's state; resolves to its kid. */
  addKey(seed: SigningKeySeed): Promise<string>;
  close(): Promise<void>;
}

export interface AccessTokenKeyStoreContractOptions {
  name: string;
  skip?: string | false;
  /** A fresh store holding no key. */
  create: () => Promise<AccessTokenKeyStoreSubject>;
  cleanup?: () => Promise<void>;
}

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;
const kids = (keys: JsonWebKey[]) => keys.map((k) => k.kid as string).sort();

async function withSubject(
  create: AccessTokenKeyStoreContractOptions['create'],
  body: (s: AccessTokenKeyStoreSubject) => Promise<void>,
): Promise<void> {
  const subject = await create();
  try {
    await body(subject);
  } finally {
    await subject.close();
  }
}

/** The behaviour every `AccessTokenKeyStore` owes the authorization server (RFC 9068 §4, RFC 7517). */
export function runAccessTokenKeyStoreContract({
  name,
  skip = false,
  create,
  cleanup,
}: AccessTokenKeyStoreContractOptions): void {
  describe(`AccessTokenKeyStore contract: ${name}`, { skip }, () => {
    if (cleanup) after(cleanup);

    test('fail/with no key the server cannot load keys to sign with', () =>
      withSubject(create, async ({ store }) => {
        await assert.rejects(store.load(), /no active access-token signing key/);
      }));

    test('fail/retired and revoked keys alone are not enough to sign with', () =>
      withSubject(create, async ({ store, addKey }) => {
        await addKey({ alg: 'ES256', created: T0, status: 'retired', until: at(10) });
        await addKey({ alg: 'ES256', created: at(1), status: 'revoked', until: at(10) });
        await assert.rejects(store.load(), /no active access-token signing key/);
      }));

    test('ok/the newest active key signs, and what it signs verifies against the public set', () =>
      withSubject(create, async ({ store, addKey }) => {
        await addKey({ alg: 'ES256', created: T0 });
        const newest = await addKey({ alg: 'ES384', created: at(60) });
        const keys = await store.load();
        assert.equal(keys.alg, 'ES384');
        const [signing] = keys.jwks.keys;
        assert.equal(signing?.kid, newest);
        assert.equal(signing?.use, 'sig');
        assert.equal(typeof signing?.d, 'string', 'the keystore holds the private half');
        const jwt = await new SignJWT({ sub: 'client' })
          .setProtectedHeader({ alg: 'ES384', kid: newest, typ: 'at+jwt' })
          .sign(await importJWK(signing as JWK, 'ES384'));
        await jwtVerify(jwt, createLocalJWKSet({ keys: keys.publicJwks.keys as JWK[] }));
      }));

    test('fail/no private member is in the public set', () =>
      withSubject(create, async ({ store, addKey }) => {
        await addKey({ alg: 'ES256', created: T0 });
        await addKey({ alg: 'PS256', created: at(1) });
        await addKey({ alg: 'EdDSA', created: at(2), status: 'retired', until: at(3) });
        const { publicJwks } = await store.load();
        assert.equal(publicJwks.keys.length, 3);
        for (const jwk of publicJwks.keys)
          for (const member of PRIVATE_MEMBERS)
            assert.equal(member in jwk, false, `${jwk.kid} has ${member}`);
      }));

    test('ok/a retired key no longer signs, but tokens it signed still verify', () =>
      withSubject(create, async ({ store, addKey }) => {
        const retired = await addKey({ alg: 'ES256', created: T0, status: 'retired', until: at(60) });
        const active = await addKey({ alg: 'ES256', created: at(60) });
        const keys = await store.load();
        assert.deepEqual(kids(keys.jwks.keys), [active]);
        assert.deepEqual(kids(keys.publicJwks.keys), [active, retired].sort());
      }));

    test('fail/a revoked key neither signs nor verifies', () =>
      withSubject(create, async ({ store, addKey }) => {
        const revoked = await addKey({ alg: 'ES256', created: T0, status: 'revoked', until: at(60) });
        const active = await addKey({ alg: 'ES256', created: at(60) });
        const keys = await store.load();
        assert.deepEqual(kids(keys.jwks.keys), [active]);
        assert.deepEqual(kids(keys.publicJwks.keys), [active], `${revoked} must not verify anything`);
      }));
  });
}
