import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import {
  DatabaseFederationKeyStore,
  MemoryFederationKeyStore,
  revokeFederationKey,
  rotateFederationKey,
  verifyEntityStatement,
} from '../../src/federation/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { KEK } from '../support/ca-fixture.ts';
import { META } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { LIFETIME, startAuthority } from './authority-fixture.ts';
import { runFederationKeyStoreContract } from './contracts/federation-key-store.contract.ts';

const actor = 'operator:test';

runFederationKeyStoreContract({
  name: 'memory',
  create: async (lifetime) => {
    const store = new MemoryFederationKeyStore(lifetime);
    return {
      store,
      rotate: (now, alg) => store.rotate(now, alg),
      revoke: async (kid, reason, now) => store.revoke(kid, reason, now),
      close: async () => {},
    };
  },
});

for (const target of await engineTargets()) {
  runFederationKeyStoreContract({
    name: `database, ${target.name}`,
    skip: target.skip,
    cleanup: () => target.cleanup(),
    create: async (lifetime) => {
      const storage = await openStorage(target.freshOptions());
      return {
        store: new DatabaseFederationKeyStore(storage.db, KEK, lifetime),
        rotate: async (now, alg) =>
          (
            await storage.transaction((tx) =>
              rotateFederationKey(tx, { kek: KEK, alg, statementLifetimeSeconds: lifetime }, { actor, now }),
            )
          ).active.kid,
        revoke: async (kid, reason, now) => {
          await storage.transaction((tx) =>
            revokeFederationKey(tx, kid, reason, { statementLifetimeSeconds: lifetime }, { actor, now }),
          );
        },
        close: () => storage.close(),
      };
    },
  });
}

const [sqlite] = await engineTargets();
describe('federation authority on a memory key store', () => {
  after(() => sqlite?.cleanup());

  test('ok/the Entity Configuration and historical keys come from the injected store, not the table', async () => {
    const keys = new MemoryFederationKeyStore(LIFETIME);
    const old = await keys.rotate(new Date(META.now.getTime() - 60_000));
    const active = await keys.rotate(META.now);
    const f = await startAuthority(sqlite!, { keys });
    try {
      const ec = await (await f.get('/.well-known/openid-federation')).text();
      assert.equal(decodeProtectedHeader(ec).kid, active);
      const jwks = decodeJwt(ec).jwks as JSONWebKeySet;
      assert.deepEqual(
        jwks.keys.map((k) => k.kid).sort(),
        [active, old].sort(),
        'the table’s key is not used',
      );
      await verifyEntityStatement(ec, jwks, { now: f.clock.now });
      const historical = await (await f.get('/federation/historical-keys')).text();
      assert.equal(decodeProtectedHeader(historical).kid, active);
    } finally {
      await f.close();
    }
  });
});
