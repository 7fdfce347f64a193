import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import {
  JWT_TYPES,
  listFederationKeys,
  revokeFederationKey,
  rotateFederationKey,
  StatementError,
  verifyEntityStatement,
  verifyFederationJwt,
} from '../../src/federation/index.ts';
import { KEK } from '../support/ca-fixture.ts';
import { META } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { type AuthorityFixture, LIFETIME, startAuthority } from './authority-fixture.ts';

const targets = await engineTargets();
const LEAF = 'https://rp.partner.example';

const jwksOf = async (f: AuthorityFixture): Promise<JSONWebKeySet> =>
  decodeJwt(await (await f.get('/.well-known/openid-federation')).text()).jwks as JSONWebKeySet;

async function historical(f: AuthorityFixture) {
  const jwt = await (await f.get('/federation/historical-keys')).text();
  const { payload } = await verifyFederationJwt<{
    iat: number;
    exp: number;
    keys: Array<Record<string, unknown>>;
  }>(jwt, await jwksOf(f), { typ: JWT_TYPES.jwkSet, now: f.clock.now });
  return payload.keys;
}

const later = (f: AuthorityFixture, seconds: number) => {
  f.clock.now = new Date(f.clock.now.getTime() + seconds * 1000);
};

for (const target of targets) {
  describe(`federation key rotation: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/a statement signed before rotation verifies against the Entity Configuration during the overlap, then only via historical keys', async () => {
      const f = await startAuthority(target);
      try {
        await f.addLeaf(LEAF);
        const before = await (await f.get(`/federation/fetch?sub=${encodeURIComponent(LEAF)}`)).text();
        const oldKid = decodeProtectedHeader(before).kid!;

        later(f, 60);
        const rotated = await f.storage.transaction((tx) =>
          rotateFederationKey(
            tx,
            { kek: KEK, statementLifetimeSeconds: LIFETIME },
            { ...META, now: f.clock.now },
          ),
        );
        assert.deepEqual(rotated.retired, [oldKid]);
        const newKid = rotated.active.kid;
        assert.notEqual(newKid, oldKid);

        // During the overlap both keys are published; the old statement still verifies.
        const overlap = await jwksOf(f);
        assert.deepEqual(overlap.keys.map((k) => k.kid).sort(), [oldKid, newKid].sort());
        await verifyEntityStatement(before, overlap, { now: f.clock.now });
        const after = await (await f.get(`/federation/fetch?sub=${encodeURIComponent(LEAF)}`)).text();
        assert.equal(decodeProtectedHeader(after).kid, newKid, 'new statements are signed with the new key');
        const ec = await (await f.get('/.well-known/openid-federation')).text();
        assert.equal(decodeProtectedHeader(ec).kid, newKid);

        const listed = await historical(f);
        assert.deepEqual(
          listed.map((k) => k.kid),
          [oldKid],
        );
        const retiredAt = Math.floor(f.clock.now.getTime() / 1000);
        assert.equal(listed[0]?.exp, retiredAt + LIFETIME, 'valid until its last statement expires');
        assert.equal(typeof listed[0]?.iat, 'number');
        assert.equal(listed[0]?.revoked, undefined);
        assert.equal(listed[0]?.d, undefined, 'public keys only');

        // After one statement lifetime the old key leaves the Entity Configuration.
        later(f, LIFETIME + 1);
        const steady = await jwksOf(f);
        assert.deepEqual(
          steady.keys.map((k) => k.kid),
          [newKid],
        );
        await assert.rejects(verifyEntityStatement(before, steady, { now: f.clock.now }), StatementError);
        assert.deepEqual(
          (await historical(f)).map((k) => k.kid),
          [oldKid],
        );
        const keys = await listFederationKeys(f.storage.db, f.clock.now, LIFETIME);
        assert.deepEqual(
          keys.map((k) => [k.kid, k.status, k.published]),
          [
            [newKid, 'active', true],
            [oldKid, 'retired', false],
          ],
        );
      } finally {
        await f.close();
      }
    });

    test('ok/a revoked key leaves the Entity Configuration at once and historical keys report revoked {revoked_at, reason}', async () => {
      const f = await startAuthority(target);
      try {
        const [first] = await listFederationKeys(f.storage.db, f.clock.now, LIFETIME);
        // The active key cannot be revoked: the platform would have nothing to sign with.
        await assert.rejects(
          f.storage.transaction((tx) =>
            revokeFederationKey(tx, first!.kid, 'compromised', { statementLifetimeSeconds: LIFETIME }, META),
          ),
          { status: 409, code: 'key_active' },
        );
        const rotated = await f.storage.transaction((tx) =>
          rotateFederationKey(
            tx,
            { kek: KEK, statementLifetimeSeconds: LIFETIME },
            { ...META, now: f.clock.now },
          ),
        );
        later(f, 10);
        const revoked = await f.storage.transaction((tx) =>
          revokeFederationKey(
            tx,
            first!.kid,
            'compromised',
            { statementLifetimeSeconds: LIFETIME },
            { ...META, now: f.clock.now },
          ),
        );
        assert.equal(revoked.status, 'revoked');
        assert.equal(revoked.published, false);
        assert.deepEqual(
          (await jwksOf(f)).keys.map((k) => k.kid),
          [rotated.active.kid],
        );
        const [entry] = await historical(f);
        const at = Math.floor(f.clock.now.getTime() / 1000);
        assert.deepEqual(entry?.revoked, { revoked_at: at, reason: 'compromised' });
        assert.equal(entry?.exp, at, 'a revoked key is not valid after its revocation');
        await assert.rejects(
          f.storage.transaction((tx) =>
            revokeFederationKey(tx, first!.kid, 'superseded', { statementLifetimeSeconds: LIFETIME }, META),
          ),
          { status: 409 },
        );
        await assert.rejects(
          f.storage.transaction((tx) =>
            revokeFederationKey(
              tx,
              'no-such-kid',
              'superseded',
              { statementLifetimeSeconds: LIFETIME },
              META,
            ),
          ),
          { status: 404 },
        );
        const actions = (
          await f.storage.db
            .selectFrom('audit_log')
            .select('action')
            .where('action', 'like', 'federation.key.%')
            .orderBy('seq')
            .execute()
        ).map((r) => r.action);
        assert.deepEqual(actions, [
          'federation.key.rotate',
          'federation.key.rotate',
          'federation.key.revoke',
        ]);
      } finally {
        await f.close();
      }
    });
  });
}
