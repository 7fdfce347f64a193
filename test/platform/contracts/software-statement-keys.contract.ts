import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import { SOFTWARE_STATEMENT_LIFETIME, type SoftwareStatementSigner } from '../../../src/directory/index.ts';
import type { SoftwareStatementKeys } from '../../../src/platform/software-statement-keys.ts';
import type { SigningKeySeed } from '../../support/signing-key-seed.ts';

/** A store under test and the implementation's own way of giving it keys. */
export interface SoftwareStatementKeysSubject {
  keys: SoftwareStatementKeys;
  /** Adds a key in the seed's state; resolves to its kid. */
  addKey(seed: SigningKeySeed): Promise<string>;
  close(): Promise<void>;
}

export interface SoftwareStatementKeysContractOptions {
  name: string;
  skip?: string | false;
  /** A fresh store holding no key. */
  create: () => Promise<SoftwareStatementKeysSubject>;
  cleanup?: () => Promise<void>;
}

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const OVERLAP = SOFTWARE_STATEMENT_LIFETIME.max;
const PUBLIC_MEMBERS = new Set(['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use']);
const kids = (set: { keys: Array<Record<string, unknown>> }) => set.keys.map((k) => k.kid as string).sort();

async function withSubject(
  create: SoftwareStatementKeysContractOptions['create'],
  body: (s: SoftwareStatementKeysSubject) => Promise<void>,
): Promise<void> {
  const subject = await create();
  try {
    await body(subject);
  } finally {
    await subject.close();
  }
}

const sign = (signer: SoftwareStatementSigner) =>
  signer.sign({
    iss: 'https://platform.example/directory',
    iat: Math.floor(T0.getTime() / 1000),
    exp: Math.floor(T0.getTime() / 1000) + 300,
    jti: 'contract',
    software_id: 'software',
    org_id: 'org',
    roles: [],
    scope: '',
    client_name: 'Contract',
    token_endpoint_auth_method: 'tls_client_auth',
    grant_types: ['client_credentials'],
  });

/** The behaviour every `SoftwareStatementKeys` owes the directory and registration (RFC 7591 §2.3, RFC 7517). */
export function runSoftwareStatementKeysContract({
  name,
  skip = false,
  create,
  cleanup,
}: SoftwareStatementKeysContractOptions): void {
  describe(`SoftwareStatementKeys contract: ${name}`, { skip }, () => {
    if (cleanup) after(cleanup);

    test('fail/with no key there is no signer and nothing is published', () =>
      withSubject(create, async ({ keys }) => {
        await assert.rejects(keys.signer(), { code: 'no_software_statement_key', status: 500 });
        assert.deepEqual((await keys.publishedJwks(T0)).keys, []);
      }));

    test('ok/the newest active key signs; its statements verify against the published set', () =>
      withSubject(create, async ({ keys, addKey }) => {
        await addKey({ alg: 'ES256', created: T0 });
        const newest = await addKey({ alg: 'PS256', created: at(60) });
        const signer = await keys.signer();
        assert.equal(signer.kid, newest);
        assert.equal(signer.alg, 'PS256');
        const jwt = await sign(signer);
        assert.deepEqual(decodeProtectedHeader(jwt), { alg: 'PS256', kid: newest, typ: 'JWT' });
        const published = await keys.publishedJwks(at(60));
        await jwtVerify(jwt, createLocalJWKSet(published as { keys: JWK[] }), { currentDate: T0 });
      }));

    test('ok/the signer follows a newer active key at once', () =>
      withSubject(create, async ({ keys, addKey }) => {
        const first = await addKey({ alg: 'ES256', created: T0 });
        assert.equal((await keys.signer()).kid, first);
        const second = await addKey({ alg: 'ES256', created: at(60) });
        assert.equal((await keys.signer()).kid, second);
      }));

    test('fail/the published set holds public members only', () =>
      withSubject(create, async ({ keys, addKey }) => {
        await addKey({ alg: 'ES256', created: T0 });
        await addKey({ alg: 'PS256', created: at(1) });
        const published = await keys.publishedJwks(at(1));
        assert.equal(published.keys.length, 2);
        for (const jwk of published.keys) {
          for (const member of Object.keys(jwk)) assert.ok(PUBLIC_MEMBERS.has(member), `${member} published`);
          assert.equal(jwk.use, 'sig');
        }
      }));

    test('ok/a retired key stays published for the longest statement lifetime, then goes', () =>
      withSubject(create, async ({ keys, addKey }) => {
        const retiredAt = at(60);
        const retired = await addKey({ alg: 'ES256', created: T0, status: 'retired', until: retiredAt });
        const active = await addKey({ alg: 'ES256', created: retiredAt });
        assert.equal((await keys.signer()).kid, active, 'a retired key never signs');
        assert.deepEqual(kids(await keys.publishedJwks(at(60 + OVERLAP - 1))), [active, retired].sort());
        assert.deepEqual(kids(await keys.publishedJwks(at(60 + OVERLAP))), [active]);
      }));

    test('fail/a revoked key is never published', () =>
      withSubject(create, async ({ keys, addKey }) => {
        await addKey({ alg: 'ES256', created: T0, status: 'revoked', until: at(60) });
        const active = await addKey({ alg: 'ES256', created: at(60) });
        assert.deepEqual(kids(await keys.publishedJwks(at(61))), [active]);
      }));

    test('fail/with only retired and revoked keys there is no signer', () =>
      withSubject(create, async ({ keys, addKey }) => {
        await addKey({ alg: 'ES256', created: T0, status: 'retired', until: at(60) });
        await addKey({ alg: 'ES256', created: T0, status: 'revoked', until: at(60) });
        await assert.rejects(keys.signer(), { code: 'no_software_statement_key' });
      }));
  });
}
