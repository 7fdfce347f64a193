import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { pruneExpiredOidcModels } from '../../src/authorization-server/index.ts';
import { StorageAdapter } from '../../src/authorization-server/storage-adapter.ts';
import { openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

for (const target of targets) {
  describe(`oidc-provider storage adapter: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/upsert, find, findByUid, findByUserCode, consume, destroy, revokeByGrantId; fail/expired is gone', async () => {
      let now = new Date('2026-05-01T00:00:00.000Z');
      const storage = await openStorage(target.freshOptions());
      try {
        const par = new StorageAdapter('PushedAuthorizationRequest', storage, () => now);
        const codes = new StorageAdapter('AuthorizationCode', storage, () => now);
        await par.upsert(
          'p1',
          { uid: 'u1', userCode: 'UC-1', grantId: 'g1', kind: 'PushedAuthorizationRequest' },
          60,
        );
        await codes.upsert('c1', { grantId: 'g1', kind: 'AuthorizationCode' }, 60);
        await codes.upsert('c2', { grantId: 'g2', kind: 'AuthorizationCode' }, 60);
        assert.equal((await par.find('p1'))?.uid, 'u1');
        assert.equal(await codes.find('p1'), undefined, 'models do not see each other');
        assert.equal((await par.findByUid('u1'))?.grantId, 'g1');
        assert.equal((await par.findByUserCode('UC-1'))?.grantId, 'g1');
        await par.upsert(
          'p1',
          { uid: 'u1', grantId: 'g1', kind: 'PushedAuthorizationRequest', jti: 'x' },
          60,
        );
        assert.equal((await par.find('p1'))?.jti, 'x', 'upsert replaces');

        await codes.consume('c1');
        assert.equal((await codes.find('c1'))?.consumed, Math.floor(now.getTime() / 1000));
        await codes.revokeByGrantId('g1');
        assert.equal(await codes.find('c1'), undefined);
        assert.equal(await par.find('p1'), undefined, 'everything of the grant goes');
        assert.ok(await codes.find('c2'));
        await codes.destroy('c2');
        assert.equal(await codes.find('c2'), undefined);

        await codes.upsert('c3', { kind: 'AuthorizationCode' }, 10);
        now = new Date(now.getTime() + 11_000);
        assert.equal(await codes.find('c3'), undefined, 'expired');
        assert.equal(await pruneExpiredOidcModels(storage, now), 1);
      } finally {
        await storage.close();
      }
    });
  });
}
